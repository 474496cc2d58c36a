"""The house rules of docs/architecture.md, checked on the code's own imports.

The floors, from the ground up: ``foundation`` (imports nothing of the project), ``ingest`` (what
loads bronze; imports only the ground floor), ``dvdrental`` (the application; imports both). Inside
the application the arrows run down too: ``commands`` -> ``daily`` / ``reports`` / ``superset`` ->
``warehouse``; the local Databricks engine (``dvdrental.local_databricks``) serves the test harness
only. And no module imports itself back through others (no circle).
"""

from __future__ import annotations

import ast
from pathlib import Path

from foundation.paths import PROJECT_ROOT

PACKAGES = ("foundation", "ingest", "dvdrental")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at module top or inside functions (``from a import b``: a and a.b)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _sources(*packages: str) -> dict[str, set[str]]:
    return {
        _module_name(path): _imports(path)
        for package in packages
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
    }


SOURCES = _sources(*PACKAGES)
TESTS = _sources("tests")


def _offenders(importers: str, forbidden: str, allowed: tuple[str, ...] = ()) -> list[str]:
    return sorted(
        f"{module} imports {target}"
        for module, targets in SOURCES.items()
        if (module == importers or module.startswith(importers + ".")) and module not in allowed
        for target in targets
        if target == forbidden or target.startswith(forbidden + ".")
    )


def _module_graph() -> dict[str, set[str]]:
    """Module -> the project's modules it imports (``from pkg import name``: pkg.name when that is a module)."""
    graph: dict[str, set[str]] = {}
    for module, targets in SOURCES.items():
        graph[module] = {target for target in targets if target in SOURCES and target != module}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each a circle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _is_package_init_edge(importer: str, target: str) -> bool:
    """A package's ``__init__`` naming its own submodules (its public API) is not an arrow between rooms."""
    return target.startswith(importer + ".")


def test_the_rules_see_the_packages() -> None:
    # Guards the checks below against silently scanning nothing (a moved folder, a renamed package).
    assert "ingest.bronze.direct" in SOURCES and "dvdrental.commands" in SOURCES and "foundation.errors" in SOURCES
    assert "foundation.errors" in SOURCES["dvdrental.commands"]
    assert "dvdrental.local_databricks.session" in SOURCES


def test_the_ground_floor_imports_nothing_of_the_project() -> None:
    assert [
        o for above in ("ingest", "dvdrental", "tests", "benchmarks") for o in _offenders("foundation", above)
    ] == []


def test_ingest_imports_only_the_ground_floor() -> None:
    assert _offenders("ingest", "dvdrental") == []


def test_only_the_entry_point_imports_command_modules() -> None:
    entry_points = ("dvdrental.commands", "dvdrental.__main__")  # the CLI's main() and `python -m`
    offenders = sorted(
        f"{module} imports {target}"
        for module, targets in {**SOURCES, **TESTS}.items()
        if module not in entry_points
        for target in targets
        if target.startswith("dvdrental.commands.") and target != "dvdrental.commands.main"
    )
    assert offenders == []


def test_the_warehouse_seam_does_not_import_the_layers_above() -> None:
    above = (
        "dvdrental.commands",
        "dvdrental.daily",
        "dvdrental.reports",
        "dvdrental.superset",
        "dvdrental.local_databricks",
    )
    assert [o for layer in above for o in _offenders("dvdrental.warehouse", layer)] == []


def test_the_libraries_do_not_import_each_other_sideways() -> None:
    """daily, reports and superset stand side by side on the warehouse seam; none reaches into another."""
    rooms = ("dvdrental.daily", "dvdrental.reports", "dvdrental.superset")
    assert [o for room in rooms for other in rooms if other != room for o in _offenders(room, other)] == []


def test_nothing_outside_the_test_harness_imports_the_local_engine() -> None:
    """The local Databricks engine (Spark session, stand-ins, bronze copy, jars) proves the models in tests;
    production code never loads it, so a stand-in can never change what runs against Databricks."""
    engine = "dvdrental.local_databricks"
    assert _offenders("foundation", engine) + _offenders("ingest", engine) == []
    outside = sorted(
        f"{module} imports {target}"
        for module, targets in SOURCES.items()
        if module.startswith("dvdrental") and not module.startswith(engine)
        for target in targets
        if target == engine or target.startswith(engine + ".")
    )
    assert outside == []
    assert any(t.startswith(engine) for targets in TESTS.values() for t in targets), "the harness uses it"


def test_the_import_graph_has_no_circle() -> None:
    graph = {
        module: {t for t in targets if not _is_package_init_edge(module, t)}
        for module, targets in _module_graph().items()
    }
    assert _circles(graph) == []


def test_the_circle_check_finds_a_circle() -> None:
    # The check above must be able to fail: a two-module circle is found, a chain is not.
    assert _circles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert _circles({"a": {"b"}, "b": set()}) == []
