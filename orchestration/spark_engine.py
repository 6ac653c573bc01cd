"""The warehouse on Apache Spark (CDW_ENGINE=spark): a local Spark session dbt builds in, and the
hand-over of tables from the DuckDB warehouse.

dbt-spark's `session` method (dbt_project/profiles.yml, target `spark`) calls
`SparkSession.builder.getOrCreate()` in dbt's own process, so `dbt()` starts the session
first - local[2] unless CDW_SPARK_MASTER says otherwise, the catalog (Hive metastore, Derby)
and the Parquet warehouse under $CDW_HOME/spark - registers the project's Python function
phone_e164() (libphonenumber, the same one DuckDB gets from the dbt-duckdb plugin) and runs dbt
in-process on that session.

What runs on Spark today: seeds, staging, analytics/governance/profile intermediates, marts and
their tests. Stop-gap until identity runs on Spark: the identity SQL models and the identity
steps that are Dagster assets on DuckDB (orchestration/identity/steps.py: Splink, components,
accounts, declared identifiers) are not run here, so `copy_from_duckdb` brings the raw tables AND
the identity tables (and the id registry) from a DuckDB build of the same inputs into Spark as
Parquet tables, and the Spark build excludes `IDENTITY_SELECTOR`. Parquet tables have no DELETE/MERGE: the
incremental models rebuild in full on Spark (dbt_project.yml, dbt_project/README.md).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from orchestration import settings

# Built on DuckDB and copied in (see the module docstring): the identity SQL models (and the tests
# of the identity assets' tables, declared in that folder)
IDENTITY_SELECTOR = "path:models/intermediate/identity"
IDENTITY_SCHEMAS = ("identity_registry",)


def spark_dir(home: Path | None = None) -> Path:
    """Where the Spark catalog (Derby metastore) and the Parquet warehouse live: <CDW_HOME>/spark."""
    return (home or settings.cdw_home()) / "spark"


def session(home: Path | None = None, master: str | None = None, shuffle_partitions: int = 4):
    """The process's Spark session (created once; later calls return it): the catalog and the
    Parquet warehouse under $CDW_HOME/spark, UTC, no UI, phone_e164() registered."""
    from pyspark.sql import SparkSession

    home = spark_dir(home)
    home.mkdir(parents=True, exist_ok=True)
    # Python workers (the phone UDF) run this interpreter, which has phonenumbers installed
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    metastore = home / "metastore_db"
    spark = (
        SparkSession.builder.appName("customer-warehouse")
        .master(master or os.environ.get("CDW_SPARK_MASTER", "local[2]"))
        .config("spark.sql.warehouse.dir", str(home / "warehouse"))
        .config("spark.hadoop.javax.jdo.option.ConnectionURL", f"jdbc:derby:;databaseName={metastore};create=true")
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={home}")
        # local mode: the driver is the executor; the JVM's default heap (1 GB) is too small past the demo
        .config("spark.driver.memory", os.environ.get("CDW_SPARK_DRIVER_MEMORY", "4g"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # DuckDB writes TIMESTAMP (no time zone) to Parquet; read it as Spark's TIMESTAMP in UTC
        .config("spark.sql.parquet.inferTimestampNTZ.enabled", "false")
        # a few hundred to a few million rows per model: 200 shuffle partitions would be 200 tasks each
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .enableHiveSupport()
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    register_udfs(spark)
    return spark


def phone_e164(raw: str | None, region: str | None) -> str | None:
    """The body of the Spark UDF: a module function, so workers import it (and its cache) by name."""
    from orchestration.identifiers.phone import _to_e164_cached

    return _to_e164_cached(raw, region)


def register_udfs(spark) -> None:
    """phone_e164(raw, region) on the session: libphonenumber, the function DuckDB gets from
    orchestration/identifiers/phone.py, as an Arrow-batched Python UDF over the same LRU cache."""
    from pyspark.sql.functions import udf

    from orchestration.identifiers.phone import UDF_NAME

    spark.udf.register(UDF_NAME, udf(phone_e164, "string", useArrow=True))


def duckdb_tables(warehouse: Path, schemas: tuple[str, ...], names: list[str] | None = None) -> list[tuple[str, str]]:
    """(schema, table) of the DuckDB warehouse's base tables in `schemas` (raw's own bookkeeping
    tables, named `_...`, left out), optionally only those named."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            f"select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' "
            f"and table_schema in ({', '.join('?' for _ in schemas)}) order by 1, 2", list(schemas)).fetchall()
    return [(s, t) for s, t in rows if not t.startswith("_") and (names is None or t in names)]


def copy_from_duckdb(spark, warehouse: Path, tables: list[tuple[str, str]], home: Path | None = None) -> dict[str, int]:
    """Write each DuckDB `schema.table` as a Parquet table of the same name in Spark's catalog
    (replacing it); returns the row count of each. HUGEINT (Parquet cannot hold it) goes over
    as DECIMAL(38, 0)."""
    import duckdb

    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(dir=spark_dir(home)) as tmp, duckdb.connect(str(warehouse), read_only=True) as con:
        for schema, table in tables:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns where table_schema = ? "
                "and table_name = ? order by ordinal_position", [schema, table]).fetchall()
            select = ", ".join(f'cast("{c}" as decimal(38, 0)) as "{c}"' if t == "HUGEINT" else f'"{c}"' for c, t in columns)
            path = Path(tmp) / f"{schema}.{table}.parquet"
            con.execute(f"copy (select {select} from \"{schema}\".\"{table}\") to '{path}' (format parquet)")
            spark.sql(f"create database if not exists `{schema}`")
            frame = spark.read.parquet(str(path))
            frame.write.format("parquet").mode("overwrite").saveAsTable(f"`{schema}`.`{table}`")
            counts[f"{schema}.{table}"] = spark.table(f"`{schema}`.`{table}`").count()
    return counts


def dbt(args: list[str], home: Path | None = None):
    """Run dbt in this process on the Spark session (target `spark`); returns dbt's result."""
    from dbt.cli.main import dbtRunner

    session(home)
    project = settings.DBT_PROJECT_DIR
    paths = ["--target-path", str(spark_dir(home) / "dbt_target"), "--log-path", str(spark_dir(home) / "dbt_logs")]
    return dbtRunner().invoke([*args, "--project-dir", str(project), "--profiles-dir", str(project),
                               "--target", "spark", *paths])


def tables_to_copy(warehouse: Path) -> list[tuple[str, str]]:
    """What the Spark build reads from a DuckDB build: the raw tables, the identity models' and assets' output
    and the id registry (the stop-gap of the module docstring)."""
    from orchestration.identity.steps import OUTPUTS

    identity_dir = settings.DBT_PROJECT_DIR / "models" / "intermediate" / "identity"
    identity = sorted(p.stem for p in identity_dir.iterdir() if p.suffix == ".sql") + [t.split(".")[1] for t in OUTPUTS]
    return (duckdb_tables(warehouse, ("raw",)) + duckdb_tables(warehouse, ("intermediate",), identity)
            + duckdb_tables(warehouse, IDENTITY_SCHEMAS))


def build_from_duckdb(warehouse: Path, args: list[str] = ("build", "--exclude-resource-type", "unit_test"),
                      home: Path | None = None):
    """The stop-gap path end to end: tables_to_copy() of a built DuckDB warehouse copied into
    Spark, then every other node built on Spark (unit tests left out, as in production: they
    test SQL logic on fixtures, which the DuckDB build has run). Returns (rows copied per
    table, dbt's result)."""
    spark = session(home)
    copied = copy_from_duckdb(spark, warehouse, tables_to_copy(warehouse), home)
    return copied, dbt([*args, "--exclude", IDENTITY_SELECTOR], home)
