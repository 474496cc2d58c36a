"""Local Apache Spark: the engine Databricks runs, used to prove the models off Databricks.

:mod:`dvdrental.local_databricks.session` starts a SparkSession exactly as config.yaml's local Spark gateways
describe it; :mod:`dvdrental.local_databricks.bronze` copies bronze from the DuckDB warehouse into it;
:mod:`dvdrental.local_databricks.databricks_standins` puts SQLMesh's Databricks adapter (production's) on that
session, with a named stand-in for each statement only Databricks has.
:mod:`dvdrental.local_databricks.endpoint` runs Spark's Thrift Server as a local Databricks SQL endpoint
(HTTPS, loopback only), and :mod:`dvdrental.local_databricks.connector_adjustments` lets the real
databricks-sql-connector (production's transport) use it.
"""
