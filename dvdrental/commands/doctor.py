"""``dvdrental doctor [--gateway NAME]``: is this machine ready to run SQLMesh on a gateway?

Prints, for the chosen gateway of config.yaml: which settings are present (``set`` or
``missing``, never a value), whether the drivers import, and whether the connections
answer (each tried once, with a short timeout). Exit codes: 0 ready; 2 a setting or a
driver is missing (or a setting is malformed); 3 the source does not answer or lacks a table;
4 a connection does not answer or the warehouse is not writable.

For a direct ingest (the default, ``DVD_INGEST_VIA``) it checks the source too: ``DVD_SOURCE_DSN``
well-formed, the server answering, the tables there (:func:`ingest.source.probe.probe_source`).
"""

from __future__ import annotations

import argparse

from dvdrental.options import positive_seconds
from dvdrental.warehouse import gateways, probes
from foundation import settings
from foundation.errors import PipelineError
from ingest.run import ingest_via
from ingest.source.probe import probe_source

EXIT_MISSING = 2
EXIT_SOURCE = 3
EXIT_UNREACHABLE = 4


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check a SQLMesh gateway's settings, drivers and connections (never prints secrets)",
    )
    parser.add_argument(
        "--gateway",
        choices=tuple(gateways.GATEWAYS),
        default=None,
        help="the gateway to check (default: $SQLMESH_GATEWAY, else local)",
    )
    parser.add_argument(
        "--timeout", type=positive_seconds, default=10.0, help="seconds per connection attempt (default 10)"
    )
    parser.add_argument("--no-connect", action="store_true", help="check settings and drivers only")
    parser.set_defaults(handler=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    name = args.gateway or settings.optional("SQLMESH_GATEWAY") or gateways.LOCAL
    gw = gateways.gateway(name)
    print(f"gateway {gw.name}: {gw.description}")

    print("settings")
    width = max(len(s.name) for s in gw.all_settings())
    for setting in gw.settings:
        print(_setting_line(setting, width))
    if gw.auth_choices:
        print("  authentication: one of")
        for group in gw.auth_choices:
            for setting in group:
                print(_setting_line(setting, width, indent="    "))
    missing = gateways.missing_settings(name)
    invalid = gateways.invalid_settings(name)

    print("drivers")
    statuses = [probes.check_driver(d) for d in gateways.drivers_for(name)]
    if name == gateways.SPARK:
        statuses.append(probes.check_java())
    for status in statuses:
        label = f"{status.driver.package} ({status.driver.purpose})"
        print(f"  {'ok     ' if status.ok else 'MISSING'}  {label}: {status.detail}")
    broken_drivers = [s.driver.package for s in statuses if not s.ok]

    unreachable: list[str] = []
    if not args.no_connect:
        print("connections")
        for probe in probes.probe_connections(name, timeout=args.timeout):
            print(f"  {'ok     ' if probe.ok else 'FAILED '}  {probe.target}: {probe.detail}")
            if not probe.ok:
                unreachable.append(probe.target)

    source = _source_section(args)

    if missing or invalid or broken_drivers or (source and source.exit_code == EXIT_MISSING):
        problems = [f"missing setting {m}" for m in missing] + invalid
        problems += [f"driver {d} not importable" for d in broken_drivers]
        problems += [source.detail] if source and source.exit_code == EXIT_MISSING else []
        print(f"not ready: {'; '.join(problems)}")
        return EXIT_MISSING
    if source and not source.ok:
        print(f"not ready: source: {source.detail}")
        return EXIT_SOURCE
    if unreachable:
        print(f"not ready: no answer from {', '.join(unreachable)}")
        return EXIT_UNREACHABLE
    # SQLMESH_GATEWAY (not only --gateway) makes config.yaml render the gateway even
    # when none of its own variables would (e.g. spark without DVD_SPARK_DIR).
    print(f"ready: SQLMESH_GATEWAY={name} sqlmesh plan" if name != gateways.LOCAL else "ready: sqlmesh plan")
    return 0


def _source_section(args: argparse.Namespace):  # -> SourceStatus | None
    """The source's settings and reachability, for a direct ingest (Airbyte reads the source itself)."""
    try:
        via = ingest_via()
    except PipelineError as error:
        print(f"source\n  INVALID  {error}")
        from ingest.source.probe import SourceStatus

        return SourceStatus(False, str(error), EXIT_MISSING)
    if via != "direct":
        print(f"source\n  (not checked: ingest is via {via}; `dvdrental airbyte check` checks that)")
        return None
    status = probe_source(timeout=args.timeout, connect=not args.no_connect)
    print("source (direct ingest)")
    print(f"  {'DVD_SOURCE_DSN':<16}  {'set' if settings.optional('DVD_SOURCE_DSN') else 'default (the local server)'}")
    print(f"  {'ok     ' if status.ok else 'FAILED '}  PostgreSQL: {status.detail}")
    return status


def _setting_line(setting: gateways.Setting, width: int, indent: str = "  ") -> str:
    value = settings.optional(setting.name)
    if value is not None:
        state = "set"
    elif setting.default is not None:
        state = f"default ({setting.default})" if setting.default else "optional"
    else:
        state = "missing"
    # Only the state is printed, never the value (not even for settings that are not secret).
    return f"{indent}{setting.name:<{width}}  {state:<28}  {setting.purpose}"
