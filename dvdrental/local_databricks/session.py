"""A SparkSession built from a local Spark gateway of config.yaml (``spark``, ``databricks_spark``).

SQLMesh's spark connection calls ``SparkSession.builder.config(conf).enableHiveSupport()
.getOrCreate()`` with the gateway's ``config:`` map. Building the session here the same way
(and before SQLMesh does) lets the bronze copy and SQLMesh share one session, one Hive
metastore and one warehouse directory. The ``databricks_spark`` gateway (SQLMesh's Databricks
adapter, which never builds a session: it takes the active one, as in a Databricks job) keeps
the same settings in its connection's ``session_configuration``. pyspark is imported lazily:
only these gateways need it.
"""

from __future__ import annotations

import contextlib
import os
import typing as t

from dvdrental.warehouse.gateways import DATABRICKS_SPARK, SPARK
from foundation.errors import ConfigError
from foundation.paths import PROJECT_ROOT

if t.TYPE_CHECKING:
    from pyspark.sql import SparkSession

SPARK_DIR_ENV = "DVD_SPARK_DIR"


def gateway_spark_config(gateway: str = SPARK) -> dict[str, str]:
    """The Spark settings of ``gateway`` in config.yaml: a ``type: spark`` connection's ``config:``,
    or the ``session_configuration:`` of the ``databricks_spark`` gateway."""
    from sqlmesh.core.config import Config
    from sqlmesh.core.config.loader import load_config_from_paths

    with _asked_for(gateway):
        config = load_config_from_paths(Config, project_paths=[PROJECT_ROOT / "config.yaml"])
    if gateway not in config.gateways:
        raise ConfigError(
            f"config.yaml has no '{gateway}' gateway in this environment: set {SPARK_DIR_ENV} "
            f"(a directory for the Spark warehouse, metastore and state) or SQLMESH_GATEWAY={gateway}."
        )
    connection = config.get_connection(gateway)
    if connection.type_ == "spark":
        settings = connection.config  # type: ignore[attr-defined]
    elif gateway == DATABRICKS_SPARK:
        settings = connection.session_configuration  # type: ignore[attr-defined]
    else:
        raise ConfigError(f"Gateway '{gateway}' is a {connection.type_} connection, not a local Spark one.")
    return {key: str(value) for key, value in (settings or {}).items()}


@contextlib.contextmanager
def _asked_for(gateway: str) -> t.Iterator[None]:
    """config.yaml writes the databricks_spark gateway only when SQLMESH_GATEWAY names it; loading
    it needs SQLMesh's Databricks config to accept a connection without host or token."""
    if gateway != DATABRICKS_SPARK:
        yield
        return
    from dvdrental.local_databricks.databricks_standins import spark_session_available

    previous = os.environ.get("SQLMESH_GATEWAY")
    os.environ["SQLMESH_GATEWAY"] = gateway
    try:
        with spark_session_available():
            yield
    finally:
        if previous is None:
            os.environ.pop("SQLMESH_GATEWAY", None)
        else:
            os.environ["SQLMESH_GATEWAY"] = previous


def spark_session(gateway: str = SPARK) -> SparkSession:
    """The process's SparkSession, configured like SQLMesh configures ``gateway``."""
    from pyspark.conf import SparkConf
    from pyspark.sql import SparkSession

    from dvdrental.local_databricks.iceberg_jars import prepare_spark_jars

    # The Iceberg jars of spark.jars are built (once) before the JVM starts.
    settings = prepare_spark_jars(gateway_spark_config(gateway))
    for key in ("spark.sql.warehouse.dir",):
        if key in settings:
            os.makedirs(settings[key], exist_ok=True)
    conf = SparkConf()
    for key, value in settings.items():
        conf.set(key, value)
    # Same construction as sqlmesh.core.config.connection.SparkConnectionConfig.
    return SparkSession.builder.config(conf=conf).enableHiveSupport().getOrCreate()
