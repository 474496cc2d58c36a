"""A chart's saved ``query_context``, built from its params as Superset's frontend builds it.

When a person saves a chart, the frontend stores the query it runs next to the params;
``/api/v1/chart/{id}/data`` (and Preset's caches, alerts and reports) run that stored query.
Our charts are written as code, so we build it here, for the one kind of chart the bundle
uses: an aggregated table. The rules follow the table plugin's ``buildQuery``
(apache/superset, superset-frontend/plugins/plugin-chart-table/src/buildQuery.ts): group by
``groupby``, the ``metrics``, ordered by ``timeseries_limit_metric`` (ascending unless
``order_desc``) or else by the first metric descending, at most ``row_limit`` rows.
"""

from __future__ import annotations

import typing as t

SUPPORTED_VIZ = "table"


def query_context(params: dict[str, t.Any]) -> dict[str, t.Any]:
    """The query context Superset would save for an aggregated table chart with ``params``."""
    if params.get("viz_type") != SUPPORTED_VIZ or params.get("query_mode", "aggregate") != "aggregate":
        raise ValueError(f"only aggregated table charts are built as code, not {params.get('viz_type')}")
    metrics = list(params.get("metrics") or [])
    sort_by = params.get("timeseries_limit_metric")
    if sort_by:
        orderby = [[sort_by, not params.get("order_desc", False)]]
    elif metrics:
        orderby = [[metrics[0], False]]
    else:
        orderby = []
    query = {
        "columns": list(params.get("groupby") or []),
        "metrics": metrics,
        "orderby": orderby,
        "row_limit": params.get("row_limit"),
        "filters": [],
        "extras": {"having": "", "where": ""},
        "applied_time_extras": {},
        "annotation_layers": [],
        "series_limit": 0,
        "order_desc": bool(params.get("order_desc", False)),
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
        "post_processing": [],
        "time_offsets": [],
    }
    return {
        # The importer replaces the datasource with the dataset's id (update_chart_config_dataset).
        "datasource": {"id": 0, "type": "table"},
        "force": False,
        "queries": [query],
        "form_data": dict(params),
        "result_format": "json",
        "result_type": "full",
    }
