"""Shared fixtures: real pipeline runs on small generated data in temporary CDW_HOMEs."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

DEMO_PEOPLE = 600
# tests write landing files and load them at once: no settle wait (tests of it set their own)
os.environ.setdefault("CDW_LANDING_SETTLE_SECONDS", "0")
DEMO_SEED = 11

# Under pytest-xdist (make test runs two workers, one per core) each worker keeps its own dbt
# target folder: the manifest dbt parses and its partial-parse state are then never written by
# two processes at once. Everything else a test writes is under its own tmp_path / CDW_HOME.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("CDW_DBT_TARGET_PATH", f"target-{os.environ['PYTEST_XDIST_WORKER']}")
# dagster-dbt parses a stale manifest with plain `dbt` (the session's `dbt_manifest` fixture, as
# `cdw prepare` does): the venv's dbt, as `cdw` and `make test` put it on PATH
from orchestration.settings import put_dbt_on_path  # noqa: E402

put_dbt_on_path()


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> Path:
    """A dbt manifest matching the project, as `cdw prepare` leaves it (importing the definitions
    prepares nothing; tests load them directly)."""
    from orchestration.defs.dbt.project import prepare_manifest

    return prepare_manifest()


def use_home(home: Path) -> None:
    """Point every component (settings, dbt via CDW_WAREHOUSE, Dagster via DAGSTER_HOME) at `home`,
    prepared as the `cdw` commands prepare it (folders, Dagster instance)."""
    os.environ["CDW_HOME"] = str(home)
    from orchestration import settings

    settings.prepare_home()


def raw_counts(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw' AND table_name NOT LIKE '\\_%' ESCAPE '\\'"
        ).fetchall()
        return {t: con.execute(f'SELECT count(*) FROM raw."{t}"').fetchone()[0] for (t,) in tables}


@dataclass
class DemoRun:
    home: Path
    first: object
    second: object
    raw_after_first: dict = field(default_factory=dict)
    raw_after_second: dict = field(default_factory=dict)

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    def sql(self, query: str, params=None):
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(query, params or []).fetchall()


def _build_demo(home: Path) -> DemoRun:
    from orchestration.demo.generator import generate
    from orchestration.runner import run_pipeline

    use_home(home)
    generate(home / "landing", people=DEMO_PEOPLE, seed=DEMO_SEED)
    first = run_pipeline()
    after_first = raw_counts(home / "warehouse.duckdb")
    use_home(home)
    # nothing new: a plain run would skip the warehouse build (tests/test_unchanged_runs.py); this
    # one rebuilds from the same raw rows, so the tests can check a rebuild changes nothing
    second = run_pipeline(rebuild=True)
    return DemoRun(home, first, second, after_first, raw_counts(home / "warehouse.duckdb"))


def _dbt_target() -> Path:
    from orchestration.defs.dbt.project import dbt_project

    project = dbt_project()
    return Path(project.project_dir) / project.target_path


def _stored_run(run_id: str):
    """The result of a run recorded in the current home's Dagster instance, as run_pipeline
    returned it: the run and its events, read back from the instance's event log."""
    from dagster import DagsterInstance, ExecuteInProcessResult

    from orchestration.definitions import defs

    with DagsterInstance.get() as instance:
        events = [e.dagster_event for e in instance.all_logs(run_id) if e.dagster_event]
        return ExecuteInProcessResult(events, instance.get_run_by_id(run_id), None, defs.resolve_job_def("full_pipeline"))


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> DemoRun:
    """Generate a demo population and run the full pipeline twice on it through Dagster (the second
    time with nothing new, rebuilding).

    Under pytest-xdist the two runs happen once for the whole session: the first worker that needs
    the demo builds it in the session's shared temp folder (the others wait on a file lock), and
    every worker then works on its own copy of that home - warehouse, exports, governance state
    and Dagster instance (the results of the two runs are read back from it) - and of the dbt
    steps' target folders, so a test that writes to demo.home never disturbs another worker."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _build_demo(tmp_path_factory.mktemp("cdw_demo"))
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent / "cdw_demo_shared"
    record = shared / "demo.json"
    built = None
    with FileLock(f"{shared}.lock"):
        if not record.exists():
            built = _build_demo(shared / "home")
            target = _dbt_target()
            for step in (built.first, built.second):
                for folder in target.glob(f"*_dbt_models-{step.run_id[:8]}"):
                    shutil.copytree(folder, shared / "dbt_target" / folder.name)
            record.write_text(json.dumps({"first": built.first.run_id, "second": built.second.run_id,
                                          "raw_after_first": built.raw_after_first,
                                          "raw_after_second": built.raw_after_second}))
    runs = json.loads(record.read_text())
    home = tmp_path_factory.mktemp("cdw_demo")
    shutil.rmtree(home)
    shutil.copytree(shared / "home", home)
    use_home(home)
    shutil.copytree(shared / "dbt_target", _dbt_target(), dirs_exist_ok=True)
    if built:
        first, second = built.first, built.second
    else:
        first, second = _stored_run(runs["first"]), _stored_run(runs["second"])
    return DemoRun(home, first, second, runs["raw_after_first"], runs["raw_after_second"])


def copy_of_demo(demo: DemoRun, dest: Path) -> Path:
    """A private CDW_HOME holding the demo's landing files, warehouse, exports and governance state
    (a fresh Dagster instance): a test that changes things starts from a built warehouse without
    paying for its own first run."""
    shutil.copytree(demo.home, dest, ignore=shutil.ignore_patterns("dagster"))
    use_home(dest)
    return dest


@pytest.fixture
def landing(tmp_path) -> Path:
    """An empty landing area with the folders of the CRM contacts, deals and web events drops."""
    d = tmp_path / "landing"
    for sub in ("crm/contacts", "crm/deals", "web/events"):
        (d / sub).mkdir(parents=True)
    return d


@pytest.fixture
def con(tmp_path):
    """A connection to a fresh warehouse file in the test's directory (tmp_path / wh.duckdb)."""
    c = duckdb.connect(str(tmp_path / "wh.duckdb"))
    yield c
    c.close()


# The modules that run whole pipelines, costliest first (seconds on the 2-core CI machine's local
# twin, measured with --durations; the demo build counted once for the session). `make test`
# hands files to its two workers in collection order (--no-loadscope-reorder): the long ones
# start first and the many short modules fill in at the end, so neither worker is left with a
# long file while the other idles. A module not listed is light and keeps its place after these.
HEAVY_MODULES = ("test_governance", "test_gate", "test_spark", "test_identity_pipeline", "test_extending_example",
                 "test_faults", "test_run_safety", "test_partitions", "test_unchanged_runs", "test_field_issues",
                 "test_identity_febrl", "test_dbt_models")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(HEAVY_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))  # stable: file order kept within a module
