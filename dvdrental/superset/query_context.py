"""A chart's saved ``query_context``, built from its params as Superset's frontend builds it.

When a person saves a chart, the frontend stores the query it runs next to the params;
``/api/v1/chart/{id}/data`` (and Preset's caches, alerts and reports) run that stored query.
Our charts are written as code, so we build it here, for the kinds of chart the bundle uses:

* the ECharts bar and line charts (``echarts_timeseries_bar``/``_line``): the Timeseries plugin's
  ``buildQuery`` (apache/superset, superset-frontend/plugins/plugin-chart-echarts/src/Timeseries/
  buildQuery.ts) with chart-controls' operators: the x axis as a ``BASE_AXIS`` column, the metrics
  plus the sort-only metric (``timeseries_limit_metric`` named by ``x_axis_sort``, getExtraMetrics),
  then pivot, resample, sort and flatten;
* the world map (``world_map``): one query grouped by the country column, as the legacy
  ``WorldMapViz.query_obj`` (superset/viz.py) and the plugin's newer ``buildQuery`` ask.

tests/app/superset/test_superset.py holds this to the real thing: the queries the dashboard in
Chromium sends for each ECharts chart must equal the ones built here.
"""

from __future__ import annotations

import typing as t

BAR = "echarts_timeseries_bar"
LINE = "echarts_timeseries_line"
WORLD_MAP = "world_map"
SUPPORTED_VIZ = (BAR, LINE, WORLD_MAP)
# The resample fill methods the bundle uses, as the frontend's resampleOperator sends them.
RESAMPLE_METHODS: dict[str, dict[str, t.Any]] = {
    "zerofill": {"method": "asfreq", "fill_value": 0},
    "asfreq": {"method": "asfreq", "fill_value": None},
}


def query_context(params: dict[str, t.Any]) -> dict[str, t.Any]:
    """The query context Superset would save for a chart with ``params``."""
    viz = params.get("viz_type")
    if viz not in SUPPORTED_VIZ:
        raise ValueError(f"only {', '.join(SUPPORTED_VIZ)} charts are built as code, not {viz}")
    query = _world_map_query(params) if viz == WORLD_MAP else _timeseries_query(params)
    return {
        # The importer replaces the datasource with the dataset's id (update_chart_config_dataset).
        "datasource": {"id": 0, "type": "table"},
        "force": False,
        "queries": [query],
        "form_data": dict(params),
        "result_format": "json",
        "result_type": "full",
    }


def label(item: str | dict[str, t.Any]) -> str:
    """A metric's or column's label: its name, or an adhoc one's ``label``."""
    return item if isinstance(item, str) else item["label"]


def _base_query(params: dict[str, t.Any]) -> dict[str, t.Any]:
    """What every chart's query holds (buildQueryObject): the WHERE filters, row limit, defaults."""
    return {
        "filters": [_filter(adhoc) for adhoc in params.get("adhoc_filters") or []],
        "extras": {"having": "", "where": ""},
        "applied_time_extras": {},
        "annotation_layers": [],
        "row_limit": params.get("row_limit"),
        "series_limit": 0,
        "order_desc": params.get("order_desc", True),
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
    }


def _filter(adhoc: dict[str, t.Any]) -> dict[str, t.Any]:
    """A simple WHERE adhoc filter as the query's ``{col, op, val}``; other kinds are not built here."""
    if adhoc.get("expressionType") != "SIMPLE" or adhoc.get("clause") != "WHERE":
        raise ValueError(f"only simple WHERE filters are built as code, not {adhoc}")
    return {"col": adhoc["subject"], "op": adhoc["operator"], "val": adhoc["comparator"]}


def _timeseries_query(params: dict[str, t.Any]) -> dict[str, t.Any]:
    if params.get("groupby"):
        raise ValueError("series (groupby) are not built as code: the bundle's bar and line charts have one series")
    x_axis = params["x_axis"]
    x_label = label(x_axis)
    grain = params.get("time_grain_sqla")
    if isinstance(x_axis, str):
        column: dict[str, t.Any] = {
            "columnType": "BASE_AXIS",
            "sqlExpression": x_axis,
            "label": x_axis,
            "expressionType": "SQL",
            "isColumnReference": True,
        }
    else:
        column = {**x_axis, "columnType": "BASE_AXIS"}
    if grain:
        column["timeGrain"] = grain
    metrics = list(params["metrics"])
    sort_metric = params.get("timeseries_limit_metric")
    sort_label = label(sort_metric) if sort_metric else None
    if sort_label and sort_label == params.get("x_axis_sort") and sort_label not in map(label, metrics):
        metrics.append(sort_metric)  # a sort-only metric: queried, not drawn (getExtraMetrics)
    query = _base_query(params)
    query.update(
        columns=[column],
        metrics=metrics,
        orderby=[[sort_metric or metrics[0], not query["order_desc"]]],
        series_columns=[],
        group_others_when_limit_reached=False,
        time_offsets=[],
    )
    if grain:
        query["extras"] = {"time_grain_sqla": grain, **query["extras"]}
    if sort_metric:
        query["series_limit_metric"] = sort_metric
    pivot = {
        "operation": "pivot",
        "options": {
            "index": [x_label],
            "columns": [],
            "aggregates": {label(m): {"operator": "mean"} for m in query["metrics"]},
            "drop_missing_columns": not params.get("show_empty_columns", True),
        },
    }
    query["post_processing"] = [
        pivot,
        *_resample(params),
        *_sort(params, x_label, query["metrics"]),
        {"operation": "flatten"},
    ]
    return query


def _resample(params: dict[str, t.Any]) -> list[dict[str, t.Any]]:
    rule, method = params.get("resample_rule"), params.get("resample_method")
    if not (rule and method):
        return []
    if method not in RESAMPLE_METHODS:
        raise ValueError(f"resample_method {method} is not built as code (only {', '.join(RESAMPLE_METHODS)})")
    return [{"operation": "resample", "options": {**RESAMPLE_METHODS[method], "rule": rule}}]


def _sort(params: dict[str, t.Any], x_label: str, metrics: list) -> list[dict[str, t.Any]]:
    """The x-axis order (sortOperator): by the axis' own values, or by one of the metrics."""
    by, ascending = params.get("x_axis_sort"), params.get("x_axis_sort_asc")
    if by is None or ascending is None or by not in [x_label, *map(label, metrics)]:
        return []
    if by == x_label:
        return [{"operation": "sort", "options": {"is_sort_index": True, "ascending": ascending}}]
    return [{"operation": "sort", "options": {"by": by, "ascending": ascending}}]


def _world_map_query(params: dict[str, t.Any]) -> dict[str, t.Any]:
    metric = params["metric"]
    query = _base_query(params)
    query.update(
        columns=[params["entity"]],
        metrics=[metric],
        orderby=[[metric, False]] if params.get("sort_by_metric") else [],
        post_processing=[],
    )
    return query
