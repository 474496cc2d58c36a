"""``dvdrental databricks grants``: print the Unity Catalog grants an admin runs once.

The principals come from ``DVD_GRANT_AIRBYTE_PRINCIPAL``, ``DVD_GRANT_SQLMESH_PRINCIPAL`` and
``DVD_GRANT_READER_PRINCIPAL``, the catalog from ``DATABRICKS_CATALOG``; what each grant is for is
written above it (:mod:`dvdrental.warehouse.grants`, docs/databricks.md).
"""

from __future__ import annotations

import argparse

from dvdrental.warehouse.grants import CATALOG_ENV, Principals, grant_script
from foundation.settings import required


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("databricks", help="production set-up on Databricks (grants)")
    commands = parser.add_subparsers(dest="databricks_command", required=True)
    grants = commands.add_parser(
        "grants", help="print the Unity Catalog grants for Airbyte's writer, SQLMesh and the dashboard's reader"
    )
    grants.set_defaults(handler=_grants)


def _grants(args: argparse.Namespace) -> int:
    catalog = required(CATALOG_ENV, "the Unity Catalog catalog the pipeline writes to")
    print(grant_script(Principals.from_settings(), catalog), end="")
    return 0
