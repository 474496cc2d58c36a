"""The local Superset of the demo: installed, initialised, serving the bundle on the warehouse.

One call does what a newcomer needs after ``make demo``: a home with an admin, a server on
127.0.0.1, the bundle built for the local DuckDB warehouse and imported through Superset's
own import API (the path the UI and Preset take), and the dashboard's address.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from dvdrental.superset.api import SupersetClient
from dvdrental.superset.bundle import DASHBOARD_SLUG, local_target, write_bundle
from dvdrental.superset.server import ADMIN_USER, DEFAULT_HOME, Prepared, Server, free_port, prepare_home
from foundation.errors import WarehouseError

logger = logging.getLogger(__name__)


@dataclass
class LocalSuperset:
    prepared: Prepared
    server: Server

    @property
    def dashboard_url(self) -> str:
        return f"{self.server.url}/superset/dashboard/{DASHBOARD_SLUG}/"

    def client(self) -> SupersetClient:
        return SupersetClient(self.server.url, ADMIN_USER, self.prepared.home.admin_password())

    def stop(self) -> None:
        self.server.stop()


def start_local(warehouse: Path, home: Path = DEFAULT_HOME, port: int | None = None) -> LocalSuperset:
    """Serve the dashboard on the warehouse file ``warehouse``; the caller stops it."""
    warehouse = Path(warehouse)
    if not warehouse.is_file():
        raise WarehouseError(f"No warehouse at {warehouse}: build it first (`make demo`), or set DVD_WAREHOUSE_PATH.")
    prepared = prepare_home(home)
    server = Server(prepared, port or free_port())
    try:
        server.wait_ready()
        with SupersetClient(server.url, ADMIN_USER, prepared.home.admin_password()) as client:
            import_local_bundle(client, warehouse, prepared.home.path)
    except BaseException:
        server.stop()
        raise
    return LocalSuperset(prepared, server)


def import_local_bundle(client: SupersetClient, warehouse: Path, workdir: Path) -> None:
    """The bundle for ``warehouse`` into the Superset behind ``client``, every asset overwritten:
    a home kept from an earlier ``serve`` gets the charts as committed now, not as first imported."""
    client.import_assets(write_bundle(local_target(warehouse), Path(workdir) / "bundle-local.zip", assets=True))
