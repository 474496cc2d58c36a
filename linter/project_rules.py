"""Project lint rules: what models/README.md ("Every model has") promises of every model.

SQLMesh loads every ``Rule`` subclass of the Python files in this folder (its loader globs
``linter/*.py``; SQLMesh's examples/sushi ``linter/user.py`` is the pattern) and names each rule by
its class name in lower case: config.yaml's ``linter:`` block lists them as errors or warnings.
``sqlmesh lint`` runs them, and so does every plan (SQLMesh lints before planning).

External models (bronze, declared in external_models.yaml) are not ours to describe: skipped.
"""

from __future__ import annotations

from sqlglot import exp
from sqlmesh.core.linter.rule import Rule, RuleViolation
from sqlmesh.core.model import Model

RULEBOOK = "models/README.md, 'Every model has'"
# Two plain sentences fit in this; the longest description in the project is about 300 characters.
DESCRIPTION_MAX_CHARS = 320


class NoMissingOwner(Rule):
    """A model names its owner (the team to ask about it)."""

    def check_model(self, model: Model) -> RuleViolation | None:
        if _is_external(model) or (model.owner or "").strip():
            return None
        return self.violation(f"{model.name} has no owner: add `owner '<team>'` to its MODEL ({RULEBOOK}).")


class NoMissingGrain(Rule):
    """A model states its grain: the column or tuple that identifies one row."""

    def check_model(self, model: Model) -> RuleViolation | None:
        if _is_external(model) or model.grains:
            return None
        return self.violation(
            f"{model.name} has no grain: add `grain <column>` or `grain (<a>, <b>)` to its MODEL ({RULEBOOK})."
        )


class NoMissingDescription(Rule):
    """A model says what its table is, in a description."""

    def check_model(self, model: Model) -> RuleViolation | None:
        if _is_external(model) or (model.description or "").strip():
            return None
        return self.violation(f"{model.name} has no description: add `description '...'` to its MODEL ({RULEBOOK}).")


class DescriptionIsShort(Rule):
    """A description says in two sentences what the table is; how it is kept goes to docs/models.md."""

    def check_model(self, model: Model) -> RuleViolation | None:
        length = len(model.description or "")
        if _is_external(model) or length <= DESCRIPTION_MAX_CHARS:
            return None
        return self.violation(
            f"{model.name}'s description has {length} characters (at most {DESCRIPTION_MAX_CHARS}): say in two "
            f"sentences what the table is, and move audit and change mechanics to docs/models.md ({RULEBOOK})."
        )


class NoMissingColumnDescriptions(Rule):
    """Every output column has a description (a comment after it in the final SELECT).

    A copy (``SELECT * [EXCEPT (...)] FROM <one model>``: the silver copies publish their staging
    table as it is) passes when the model it copies describes every column it copies: the
    descriptions are written once, where the columns are made.
    """

    def check_model(self, model: Model) -> RuleViolation | None:
        if _is_external(model):
            return None
        columns = _output_columns(model)
        copied = _copied_model_name(model)
        if copied is not None:
            source = self.context.get_model(copied)
            described = source.column_descriptions if source is not None else {}
            where = f"on {copied}, the model it copies"
        else:
            described = model.column_descriptions
            where = "as a comment after the column in the final SELECT"
        missing = [column for column in columns if not (described.get(column) or "").strip()]
        if not missing:
            return None
        return self.violation(
            f"{model.name}: column(s) without a description: {', '.join(missing)}; describe each {where} ({RULEBOOK})."
        )


def _is_external(model: Model) -> bool:
    return model.kind.is_external


def _output_columns(model: Model) -> list[str]:
    """The model's columns: SQLMesh's inferred schema, or the final SELECT's names if it has none."""
    if model.columns_to_types:
        return list(model.columns_to_types)
    query = model.render_query()
    return [] if query is None else [name for name in query.named_selects if name != "*"]


def _copied_model_name(model: Model) -> str | None:
    """The model a pure copy reads (``SELECT * [EXCEPT ...] FROM <model> [WHERE ...]``), else None."""
    query = getattr(model, "query", None)
    if not isinstance(query, exp.Select) or query.args.get("joins") or query.args.get("with_"):
        return None
    if len(query.expressions) != 1 or not isinstance(query.expressions[0], exp.Star):
        return None
    if len(model.depends_on) != 1:
        return None
    return next(iter(model.depends_on))
