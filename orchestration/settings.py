"""One place that decides where everything lives.

`CDW_HOME` (default `./data`, resolved against the current directory) holds:
  landing/            source drops (and landing/_truth/ for the demo generator's ground truth)
  warehouse.duckdb    the warehouse (one writer at a time)
  exports/            audience files and their manifests
  dagster/            DAGSTER_HOME: run history shared by `cdw run` and the UI

Dagster, dbt (via the env vars exported by `export_env`), tests and the CLI all read it;
`prepare_home` creates it for the commands that run things.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
SOURCES_FILE = Path(__file__).resolve().parent / "sources.yml"


DAGSTER_INSTANCE_DEFAULTS = """\
# DuckDB has one writer per file: runs queue and go one at a time
concurrency:
  runs:
    max_concurrent_runs: 1
run_retries:
  enabled: true
  max_retries: 1
freshness:
  enabled: true
"""


# The daemon's run monitoring: a run stuck STARTING (its worker never came up) fails after 3
# minutes, and one STARTED for longer than 6 hours is terminated and marked failed. It cannot
# check a local worker's health: a killed run's record is failed by the next run instead
# (orchestration/warehouse.py).
RUN_MONITORING = """\
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  max_runtime_seconds: 21600
"""
DAGSTER_INSTANCE_DEFAULTS += RUN_MONITORING


# DuckDB's memory ceiling for the warehouse's writers (dbt, the loader): it spills to disk past
# it instead of growing; the default keeps the whole process tree under the 8 GiB target.
DEFAULT_DUCKDB_MEMORY_LIMIT = "5GB"


def duckdb_memory_limit() -> str:
    value = os.environ.get("CDW_DUCKDB_MEMORY_LIMIT", DEFAULT_DUCKDB_MEMORY_LIMIT).strip()
    if not value.replace(".", "", 1).rstrip("KMGTiBkmgtib").isdigit():  # noqa: B005 (strips unit letters)
        raise ValueError(f"CDW_DUCKDB_MEMORY_LIMIT={value!r}: give an amount such as 5GB or 500MB")
    return value


def limit_memory(con) -> None:
    """Apply the memory ceiling to a DuckDB connection (a runtime SET: no instance config, so
    connections opened elsewhere in the process with default settings do not conflict)."""
    con.execute(f"SET memory_limit = '{duckdb_memory_limit()}'")


def env_number(name: str, default: float, minimum: float | None = None) -> float:
    """A number from the environment (blank: the default); a clear error for anything else."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number") from None
    if minimum is not None and number < minimum:
        raise ValueError(f"{name}={value!r} must be at least {minimum:g}")
    return number


def cdw_home() -> Path:
    return Path(os.environ.get("CDW_HOME", "data")).expanduser().resolve()


def landing_dir() -> Path:
    return cdw_home() / "landing"


def truth_dir() -> Path:
    return landing_dir() / "_truth"


def warehouse_path() -> Path:
    return cdw_home() / "warehouse.duckdb"


def exports_dir() -> Path:
    return cdw_home() / "exports"


def dagster_home() -> Path:
    return cdw_home() / "dagster"


def dbt_target_path() -> str:
    """dbt's target folder, relative to the dbt project (CDW_DBT_TARGET_PATH, default `target`):
    several checkouts' worth of work (parallel test workers, a benchmark beside a dev run) keep
    separate manifests and partial-parse state."""
    return os.environ.get("CDW_DBT_TARGET_PATH", "target")


def dbt_manifest_path() -> Path:
    """dbt's manifest of the last parse or build (the snapshot reads its `meta: {pii: true}` tags)."""
    return DBT_PROJECT_DIR / dbt_target_path() / "manifest.json"


def default_phone_country() -> str:
    """The country (ISO2) phone numbers written without an international prefix are read in when
    their record carries no country: dbt's var `default_phone_country` in dbt_project.yml, the one
    setting dbt's staging models and the Python code (erasure, ad platform hashing, `cdw explain`)
    both read. Change it there; a `--vars` override on a dbt command line reaches dbt alone."""
    return _project_var(DBT_PROJECT_DIR / "dbt_project.yml", "default_phone_country").upper()


@functools.cache
def _project_var(project_file: Path, name: str) -> str:
    value = (yaml.safe_load(project_file.read_text()).get("vars") or {}).get(name)
    if not value:
        raise ValueError(f"{project_file}: vars.{name} is not set")
    return str(value)


ENGINES = ("duckdb", "spark")


def engine() -> str:
    """CDW_ENGINE: the engine the dbt project builds on - duckdb (default, the embedded warehouse
    file) or spark (dbt-spark; profiles.yml picks its target from the same variable, and the
    Spark warehouse lives in $CDW_HOME/spark: orchestration/spark.py)."""
    value = os.environ.get("CDW_ENGINE", "duckdb").strip().lower() or "duckdb"
    if value not in ENGINES:
        raise ValueError(f"CDW_ENGINE={value!r}: use one of {', '.join(ENGINES)}")
    return value


def export_env() -> None:
    """Point this process's children (dbt, Dagster) at the same absolute locations: environment
    variables only (CDW_HOME, CDW_WAREHOUSE, DAGSTER_HOME, CDW_DBT_CONNECT_ATTEMPTS), no file
    written and PATH left alone, so importing the Dagster definitions, which calls it, only
    defines. The commands that run things call `prepare_home` instead."""
    os.environ["CDW_HOME"] = str(cdw_home())
    os.environ["CDW_WAREHOUSE"] = str(warehouse_path())
    os.environ["DAGSTER_HOME"] = str(dagster_home())
    from orchestration.warehouse import dbt_connect_attempts

    # dbt-duckdb waits for the warehouse's file lock as long as our own connections do
    os.environ["CDW_DBT_CONNECT_ATTEMPTS"] = str(dbt_connect_attempts())
    from orchestration.identity import custom_identifiers

    custom_identifiers.export()  # the identifiers sources.yml declares, for dbt (CDW_IDENTITY_IDENTIFIERS)


def prepare_home() -> None:
    """What a command that runs things needs before it starts (`cdw` commands, `run_pipeline`,
    `cdw prepare` before `make ui`): `export_env`, the folders of CDW_HOME, the Dagster instance's
    dagster.yaml, and this environment's bin folder on PATH (dagster-dbt runs `dbt parse` as
    plain `dbt` when the manifest is missing or stale)."""
    export_env()
    for d in (cdw_home(), landing_dir(), exports_dir(), dagster_home()):
        d.mkdir(parents=True, exist_ok=True)
    instance_yaml = dagster_home() / "dagster.yaml"
    if not instance_yaml.exists() or not instance_yaml.read_text().strip():
        # sqlite run/event storage in DAGSTER_HOME (the default); runs one at a time (the
        # warehouse's single writer), a failed run retried once by the daemon, asset freshness
        # policies evaluated
        instance_yaml.write_text(DAGSTER_INSTANCE_DEFAULTS)
    elif "run_monitoring" not in instance_yaml.read_text():  # a home from before run monitoring
        with instance_yaml.open("a") as fh:
            fh.write(RUN_MONITORING)
    put_dbt_on_path()


def put_dbt_on_path() -> None:
    """dbt is installed beside this Python: make it findable even when the venv is not activated."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
