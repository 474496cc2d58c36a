"""A small client for Superset's REST API: log in, import a bundle, read charts and data.

Superset's API takes a JWT from ``/api/v1/security/login`` (provider ``db``); calls that
change something also need the CSRF token of ``/api/v1/security/csrf_token/`` and the session
cookie that came with it. The endpoints are Superset's own (superset/dashboards/api.py
``import_``, superset/charts/data/api.py ``get_data``), the ones Preset's importer uses too.
"""

from __future__ import annotations

import json
import logging
import typing as t
from pathlib import Path

import httpx

from dvdrental.superset.errors import SupersetError

logger = logging.getLogger(__name__)


class SupersetClient:
    def __init__(self, base_url: str, username: str, password: str, timeout: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)
        response = self._http.post(
            "/api/v1/security/login",
            json={"username": username, "password": password, "provider": "db", "refresh": False},
        )
        if response.status_code != 200:
            raise SupersetError(
                f"Superset at {self.base_url} refused the login of '{username}' (HTTP {response.status_code})"
            )
        self._http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        self._http.headers["Referer"] = self.base_url  # Flask-WTF checks it on POSTs

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SupersetClient:
        return self

    def __exit__(self, *exc: t.Any) -> None:
        self.close()

    def get(self, path: str, **params: t.Any) -> t.Any:
        response = self._http.get(path, params=params or None)
        if response.status_code != 200:
            raise SupersetError(f"GET {path}: HTTP {response.status_code}: {response.text[:300]}")
        return response.json()

    def delete(self, path: str) -> None:
        csrf = self.get("/api/v1/security/csrf_token/")["result"]
        response = self._http.delete(path, headers={"X-CSRFToken": csrf})
        if response.status_code != 200:
            raise SupersetError(f"DELETE {path}: HTTP {response.status_code}: {response.text[:300]}")

    def import_dashboard(self, bundle: Path, passwords: dict[str, str] | None = None, overwrite: bool = True) -> None:
        """Import a bundle zip as the UI (and Preset) do; ``passwords`` maps database files to secrets."""
        form = {"overwrite": "true" if overwrite else "false"}
        if passwords:
            form["passwords"] = json.dumps(passwords)
        self._import("/api/v1/dashboard/import/", "formData", bundle, form)

    def import_assets(self, bundle: Path) -> None:
        """Import a bundle written with ``assets=True`` through ``/api/v1/assets/import/``, which
        overwrites the database, dataset, charts and dashboard in place (ImportAssetsCommand). The
        dashboard importer keeps charts and datasets that exist (import_chart(config, overwrite=False)
        in ImportDashboardsCommand): a changed chart would never reach a Superset that had the old one."""
        self._import("/api/v1/assets/import/", "bundle", bundle, {})

    def _import(self, path: str, field: str, bundle: Path, form: dict[str, str]) -> None:
        csrf = self.get("/api/v1/security/csrf_token/")["result"]
        with open(bundle, "rb") as handle:
            response = self._http.post(
                path,
                data=form,
                files={field: (Path(bundle).name, handle, "application/zip")},
                headers={"X-CSRFToken": csrf},
            )
        if response.status_code != 200:
            raise SupersetError(
                f"Superset refused the bundle {Path(bundle).name} at {path} (HTTP {response.status_code}): "
                f"{response.text[:500]}"
            )

    def charts(self) -> list[dict]:
        query = json.dumps({"columns": ["id", "uuid", "slice_name", "viz_type"], "page_size": 100})
        return self.get("/api/v1/chart/", q=query)["result"]

    def dashboards(self) -> list[dict]:
        query = json.dumps({"columns": ["id", "uuid", "slug", "dashboard_title", "url"], "page_size": 100})
        return self.get("/api/v1/dashboard/", q=query)["result"]

    def chart_data(self, chart_id: int) -> list[dict]:
        """The rows of ``chart_id``'s saved query, run now (``/api/v1/chart/{id}/data``)."""
        return self.chart_result(chart_id)["data"]

    def chart_result(self, chart_id: int) -> dict:
        """``chart_id``'s saved query run now: its rows (``data``, after the chart's post-processing)
        and what Superset reports beside them (``sql_rowcount``, ``rowcount``, ``colnames``...)."""
        return self.get(f"/api/v1/chart/{chart_id}/data/", force="true")["result"][0]
