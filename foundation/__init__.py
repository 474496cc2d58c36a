"""The ground floor: what every other room of the project stands on, importing nothing of the project.

* :mod:`.errors` — the one exception hierarchy and its exit codes (README, "Exit codes");
* :mod:`.settings` — reading settings from the environment and a git-ignored ``.env``;
* :mod:`.paths` — where the project keeps things on disk (the warehouse file, logs, artifacts);
* :mod:`.redaction` — keeping secrets out of everything printed or logged;
* :mod:`.signals` — SIGTERM handled like Ctrl-C;
* :mod:`.warehouse_file` — opening the local DuckDB warehouse for writing, with its lock wait.

``ingest`` (what loads bronze) and ``dvdrental`` (the application) both import from here;
``tests/test_architecture.py`` keeps this package free of imports from either.
"""
