"""The five answers in Apache Superset (and Preset): the asset bundle in ``dashboards/``,
built for the local DuckDB warehouse or for Databricks, and a local Superset to serve it.

Superset lives in its own virtual environment under ``.local/superset/`` (its pins clash
with SQLMesh's), so nothing here imports Superset: we drive its CLI and its REST API.
"""
