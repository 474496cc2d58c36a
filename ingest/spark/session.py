"""A SparkSession built from the ``spark`` gateway of config.yaml.

SQLMesh's spark connection calls ``SparkSession.builder.config(conf).enableHiveSupport()
.getOrCreate()`` with the gateway's ``config:`` map. Building the session here the same way
(and before SQLMesh does) lets the bronze copy and SQLMesh share one session, one Hive
metastore and one warehouse directory. pyspark is imported lazily: only the spark gateway
needs it.
"""

from __future__ import annotations

import os
import typing as t

from ingest.errors import ConfigError
from ingest.paths import PROJECT_ROOT

if t.TYPE_CHECKING:
    from pyspark.sql import SparkSession

SPARK_GATEWAY = "spark"
SPARK_DIR_ENV = "DVD_SPARK_DIR"


def gateway_spark_config(gateway: str = SPARK_GATEWAY) -> dict[str, str]:
    """The ``config:`` map of ``gateway`` (a ``type: spark`` connection) in config.yaml."""
    from sqlmesh.core.config import Config
    from sqlmesh.core.config.loader import load_config_from_paths

    config = load_config_from_paths(Config, project_paths=[PROJECT_ROOT / "config.yaml"])
    if gateway not in config.gateways:
        raise ConfigError(
            f"config.yaml has no '{gateway}' gateway in this environment: set {SPARK_DIR_ENV} "
            f"(a directory for the Spark warehouse, metastore and state) or SQLMESH_GATEWAY={gateway}."
        )
    connection = config.get_connection(gateway)
    if connection.type_ != "spark":
        raise ConfigError(f"Gateway '{gateway}' is a {connection.type_} connection, not spark.")
    return {key: str(value) for key, value in (connection.config or {}).items()}  # type: ignore[attr-defined]


def spark_session(gateway: str = SPARK_GATEWAY) -> "SparkSession":
    """The process's SparkSession, configured like SQLMesh configures ``gateway``."""
    from pyspark.conf import SparkConf
    from pyspark.sql import SparkSession

    from ingest.spark.iceberg_jars import prepare_spark_jars

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
