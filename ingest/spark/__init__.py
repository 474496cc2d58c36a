"""Local Apache Spark: the engine Databricks runs, used to prove the models off Databricks.

:mod:`ingest.spark.session` starts a SparkSession exactly as config.yaml's local Spark gateways
describe it; :mod:`ingest.spark.bronze` copies bronze from the DuckDB warehouse into it;
:mod:`ingest.spark.databricks_standins` puts SQLMesh's Databricks adapter (production's) on that
session, with a named stand-in for each statement only Databricks has.
"""
