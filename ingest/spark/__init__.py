"""Local Apache Spark: the engine Databricks runs, used to prove the models off Databricks.

:mod:`ingest.spark.session` starts a SparkSession exactly as SQLMesh's ``spark`` gateway
(config.yaml) does; :mod:`ingest.spark.bronze` copies bronze from the DuckDB warehouse into it.
"""
