"""The house rules of docs/architecture.md, checked on the code's own imports.

* ``ingest`` imports nothing from ``dvdrental`` (it is usable and testable on its own);
* nothing imports a command module but the CLI's entry point (commands parse and print; the
  code they call lives in libraries);
* inside ``dvdrental``, the seam (``warehouse``) never imports the layers above it.
"""

from __future__ import annotations

import ast
from pathlib import Path

from foundation.paths import PROJECT_ROOT

PACKAGES = ("dvdrental", "ingest")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at module top or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _sources() -> dict[str, set[str]]:
    return {
        _module_name(path): _imports(path)
        for package in PACKAGES
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
    }


SOURCES = _sources()


def _offenders(importers: str, forbidden: str, allowed: tuple[str, ...] = ()) -> list[str]:
    return sorted(
        f"{module} imports {target}"
        for module, targets in SOURCES.items()
        if (module == importers or module.startswith(importers + ".")) and module not in allowed
        for target in targets
        if target == forbidden or target.startswith(forbidden + ".")
    )


def test_the_rules_see_the_packages() -> None:
    # Guards the checks below against silently scanning nothing (a moved folder, a renamed package).
    assert "ingest.bronze.direct" in SOURCES and "dvdrental.commands" in SOURCES
    assert "foundation.errors" in SOURCES["dvdrental.commands"]


def test_ingest_imports_nothing_from_the_application() -> None:
    assert _offenders("ingest", "dvdrental") == []


def test_only_the_entry_point_imports_command_modules() -> None:
    tests = {_module_name(p): _imports(p) for p in sorted((PROJECT_ROOT / "tests").rglob("*.py"))}
    entry_points = ("dvdrental.commands", "dvdrental.__main__")  # the CLI's main() and `python -m`
    offenders = sorted(
        f"{module} imports {target}"
        for module, targets in {**SOURCES, **tests}.items()
        if module not in entry_points
        for target in targets
        if target.startswith("dvdrental.commands.") and target != "dvdrental.commands.main"
    )
    assert offenders == []


def test_the_warehouse_seam_does_not_import_the_layers_above() -> None:
    above = ("dvdrental.commands", "dvdrental.daily", "dvdrental.reports")
    assert [o for layer in above for o in _offenders("dvdrental.warehouse", layer)] == []
