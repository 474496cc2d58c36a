"""``dvdrental superset``: the five answers in a local Apache Superset, or a bundle for Preset.

``dvdrental superset serve`` (the default) installs Superset into its own venv, imports the
bundle on the local warehouse and serves it on 127.0.0.1 until Ctrl-C;
``dvdrental superset export-bundle`` writes the zip a Preset user imports (Databricks).
"""

from __future__ import annotations

import argparse
import signal
import time
from pathlib import Path

from dvdrental.superset.bundle import databricks_target, local_target, write_bundle
from dvdrental.superset.install import VENV_DIR, ensure_superset
from dvdrental.superset.local import start_local
from foundation.paths import ARTIFACTS_DIR, warehouse_path

DEFAULT_PORT = 8088


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "superset", help="serve the answers in a local Apache Superset; export the Preset bundle"
    )
    actions = parser.add_subparsers(dest="superset_action", metavar="ACTION")

    serve = actions.add_parser(
        "serve", help="install, import the bundle on the local warehouse, serve on 127.0.0.1 (default)"
    )
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT})")
    serve.set_defaults(handler=_serve)

    export = actions.add_parser("export-bundle", help="write the Superset/Preset import zip")
    export.add_argument(
        "--target",
        choices=("databricks", "local"),
        default="databricks",
        help="database the bundle points at (default databricks: DATABRICKS_* settings)",
    )
    export.add_argument(
        "--output", type=Path, default=None, help="zip to write (default artifacts/superset-<target>.zip)"
    )
    export.set_defaults(handler=_export)

    install = actions.add_parser("install", help="only install Superset into .local/superset/venv")
    install.set_defaults(handler=_install)

    parser.set_defaults(handler=_serve, port=DEFAULT_PORT)


def _serve(args: argparse.Namespace) -> int:

    local = start_local(warehouse_path(), port=args.port)
    # SIGTERM (kill, a service manager) ends the server like Ctrl-C does, not orphaned.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        home = local.prepared.home
        if local.prepared.new_password:
            print(
                f"Superset admin created: user admin, password {local.prepared.new_password} "
                f"(shown once; kept 0600 in {home.admin_password_file})"
            )
        else:
            print(f"Superset login: user admin, password in {home.admin_password_file}")
        print(f"dashboard: {local.dashboard_url}")
        print("serving until Ctrl-C")
        while local.server.process.poll() is None:
            time.sleep(1)
        print(f"Superset stopped (exit {local.server.process.returncode}): see {home.log}")
        return 1
    finally:
        local.stop()


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(143)


def _export(args: argparse.Namespace) -> int:

    target = databricks_target() if args.target == "databricks" else local_target(warehouse_path())
    output = args.output or ARTIFACTS_DIR / f"superset-{args.target}.zip"
    path = write_bundle(target, output)
    print(f"bundle written: {path}")
    if args.target == "databricks":
        print("import it in Preset/Superset (Dashboards > Import); it asks for the Databricks token")
    return 0


def _install(args: argparse.Namespace) -> int:

    print(f"Superset ready: {ensure_superset()} (venv {VENV_DIR})")
    return 0
