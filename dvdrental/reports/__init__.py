"""What people read: the five answers (:mod:`.answers`), the offline HTML dashboard
(:mod:`.dashboard`) and the plan diff for reviewers (:mod:`.plan_diff`)."""
