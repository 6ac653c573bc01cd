"""The warehouse connection: one factory for every DuckDB connection to $CDW_HOME/warehouse.duckdb,
and one lock that makes pipeline runs take turns.

DuckDB allows one writer per file, and a read-only reader (an analyst's `duckdb -readonly`, `cdw
sql --warehouse`) blocks a writer too: opening the file while another process holds it fails at
once with `IO Error: Could not set lock on file … Conflicting lock is held in <program> (PID n)`.
`connect()` waits for the lock instead, with exponential backoff (50 ms doubling up to 2 s), up to
CDW_LOCK_TIMEOUT_SECONDS (default 600), then raises `WarehouseBusy` naming the program and PID that
hold it. dbt's own connection (dbt-duckdb) waits through the profile's `retries.connect_attempts`,
derived from the same setting (`dbt_connect_attempts`). Analysts who query while runs go use the
published snapshot (`analytics.duckdb`, `cdw sql`), which never locks the warehouse.

Runs take turns through `WarehouseResource`: every job of the code location requires it, and it
holds an exclusive file lock ($CDW_HOME/run.lock) from the start of a run to its end, in whatever
process executes the run - `cdw run` (in process, outside Dagster's run queue) and the runs the
daemon launches (schedules, sensors) alike. A run that finds the lock taken waits (logging which
run holds it) up to CDW_RUN_LOCK_TIMEOUT_SECONDS (default 3 hours), then fails saying so. The OS
releases the lock when its process dies, so a killed run never leaves it behind.

A killed run does leave its Dagster record STARTED (no process is left to report its end, and
the daemon's run monitoring cannot check a local process's health: only its start timeout and
maximum runtime apply, see settings.RUN_MONITORING). So each run, once it holds the lock, tags
itself with its PID and host (`cdw/pid`, `cdw/host`) and marks failed every other run still
STARTED whose tagged process on this host is gone: holding the lock proves no other run is
executing, and the missing process proves which ones never will.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
from filelock import FileLock, Timeout

from orchestration import settings

DEFAULT_LOCK_TIMEOUT_SECONDS = 600.0
DEFAULT_RUN_LOCK_TIMEOUT_SECONDS = 3 * 3600.0
FIRST_DELAY, MAX_DELAY = 0.05, 2.0
# `connect(IN_MEMORY)`: a private in-memory database (files to read are ATTACHed to it READ_ONLY)
IN_MEMORY = ":memory:"

_LOCK_CONFLICT = re.compile(r"Could not set lock on file|Conflicting lock is held")
_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


_log = logging.getLogger(__name__)


class WarehouseBusy(RuntimeError):
    """The warehouse's file lock stayed taken for longer than the configured wait."""


def lock_timeout() -> float:
    """How long a connection waits for DuckDB's file lock (CDW_LOCK_TIMEOUT_SECONDS)."""
    return settings.env_number("CDW_LOCK_TIMEOUT_SECONDS", DEFAULT_LOCK_TIMEOUT_SECONDS, minimum=0)


def run_lock_timeout() -> float:
    """How long a run waits for the run before it to finish (CDW_RUN_LOCK_TIMEOUT_SECONDS)."""
    return settings.env_number("CDW_RUN_LOCK_TIMEOUT_SECONDS", DEFAULT_RUN_LOCK_TIMEOUT_SECONDS, minimum=0)


def dbt_connect_attempts(timeout: float | None = None) -> int:
    """dbt-duckdb's `retries.connect_attempts` that waits about as long as `timeout`: it sleeps
    2**k seconds after the k-th failed attempt, so n attempts wait 2**(n-1) - 1 seconds in all."""
    timeout = lock_timeout() if timeout is None else timeout
    return max(1, math.ceil(math.log2(timeout + 1)) + 1)


def is_lock_conflict(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and bool(_LOCK_CONFLICT.search(str(exc)))


def lock_holder(exc: BaseException) -> str:
    """'<program> (PID n)' from DuckDB's lock error, or 'another process' when it names none."""
    m = _HOLDER.search(str(exc))
    return f"{Path(m['program']).name} (PID {m['pid']})" if m else "another process"


def connect(path: Path | str | None = None, *, read_only: bool = False, timeout: float | None = None,
            on_wait: Callable[[str], None] | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection to the warehouse (or `path`: another DuckDB file, e.g. one being built,
    or IN_MEMORY), waiting for the file lock with backoff (see the module docstring). Writers get
    the memory ceiling (CDW_DUCKDB_MEMORY_LIMIT). `on_wait(message)` is told once when the wait
    begins (e.g. a step's logger)."""
    path = Path(path) if path is not None else settings.warehouse_path()
    if not read_only and str(path) != IN_MEMORY:
        path.parent.mkdir(parents=True, exist_ok=True)
    timeout = lock_timeout() if timeout is None else timeout
    started = time.monotonic()
    delay = FIRST_DELAY
    told = False
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if not is_lock_conflict(exc):
                raise
            waited = time.monotonic() - started
            if waited >= timeout:
                raise WarehouseBusy(
                    f"the warehouse {path} is locked by {lock_holder(exc)}; waited {waited:.0f}s "
                    f"(CDW_LOCK_TIMEOUT_SECONDS={timeout:g}). A reader such as `duckdb -readonly` holds the lock "
                    "too: query the analyst snapshot instead (`cdw sql`, analytics.duckdb)") from None
            if not told:
                (on_wait or _log.warning)(f"the warehouse is locked by {lock_holder(exc)}: waiting up to {timeout:g}s for it")
                told = True
            time.sleep(min(delay, max(timeout - waited, 0.0)))
            delay = min(delay * 2, MAX_DELAY)
    if not read_only:
        try:
            settings.limit_memory(con)
        except ValueError:
            con.close()
            raise
    return con


def wait_until_free(path: Path | str | None = None, *, timeout: float | None = None,
                    on_wait: Callable[[str], None] | None = None) -> None:
    """Wait until a writer could open the warehouse (then let go of it): before a child process
    (dbt) that opens it by itself."""
    path = Path(path) if path is not None else settings.warehouse_path()
    if path.exists():
        connect(path, timeout=timeout, on_wait=on_wait).close()


# --- runs take turns -------------------------------------------------------------------------

def run_lock_path() -> Path:
    return settings.cdw_home() / "run.lock"


def _holder_path() -> Path:
    return settings.cdw_home() / "run.lock.json"


def current_holder() -> dict | None:
    """Who took the run lock last (run id, job, pid, since): meaningful while it is held."""
    try:
        return json.loads(_holder_path().read_text())
    except (OSError, ValueError):
        return None


def _describe(holder: dict | None) -> str:
    if not holder:
        return "another run"
    return f"run {holder.get('run_id')} ({holder.get('job')}, PID {holder.get('pid')}, since {holder.get('since')})"


@contextmanager
def run_lock(run_id: str, job: str, *, timeout: float | None = None,
             log: Callable[[str], None] | None = None, poll_seconds: float = 30.0) -> Iterator[None]:
    """Hold the exclusive run lock for the body; wait for the run that holds it (see module docstring)."""
    timeout = run_lock_timeout() if timeout is None else timeout
    path = run_lock_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    started = time.monotonic()
    while True:
        remaining = timeout - (time.monotonic() - started)
        try:
            lock.acquire(timeout=max(0.0, min(poll_seconds, remaining)), poll_interval=0.2)
            break
        except Timeout:
            holder = _describe(current_holder())
            if time.monotonic() - started >= timeout:
                raise WarehouseBusy(f"{holder} still holds the warehouse after {timeout:g}s "
                                    f"(CDW_RUN_LOCK_TIMEOUT_SECONDS): this run gives up") from None
            if log:
                log(f"waiting for {holder} to finish: runs take turns on the warehouse")
    try:
        since = datetime.now(UTC).isoformat(timespec="seconds")
        _holder_path().write_text(json.dumps({"run_id": run_id, "job": job, "pid": os.getpid(), "since": since}))
        yield
    finally:
        lock.release()


PID_TAG, HOST_TAG = "cdw/pid", "cdw/host"


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def fail_runs_whose_process_died(instance: dg.DagsterInstance, own_run_id: str,
                                 log: Callable[[str], None] | None = None) -> list[str]:
    """Mark failed the runs left STARTED by a process that no longer exists (see module docstring)."""
    host = socket.gethostname()
    failed = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        pid = run.tags.get(PID_TAG)
        if run.run_id == own_run_id or not pid or run.tags.get(HOST_TAG) != host or not pid.isdigit():
            continue
        if _process_gone(int(pid)):
            instance.report_run_failed(run, f"the run's process (PID {pid}) is gone - killed or crashed - "
                                            f"while the run was STARTED; found by run {own_run_id}")
            failed.append(run.run_id)
            if log:
                log(f"run {run.run_id} ({run.job_name}) had died (process {pid} gone): marked failed")
    return failed


class WarehouseResource(dg.ConfigurableResource):
    """The warehouse of $CDW_HOME: `connect()` waits for DuckDB's file lock, and a run that uses
    this resource holds the run lock from its start to its end (runs take turns; module docstring)."""

    @contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator[WarehouseResource]:
        run = context.dagster_run
        if run is None:  # built outside a run (a direct call in a test): nothing to take turns with
            yield self
            return
        log = context.log.warning if context.log else None
        with run_lock(run.run_id, run.job_name, log=log):
            context.instance.add_run_tags(run.run_id, {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()})
            fail_runs_whose_process_died(context.instance, run.run_id, log)
            try:
                wait_until_free(on_wait=log)  # a reader at the start: said here, with who holds it
            except WarehouseBusy as exc:  # the steps wait again, and their retry policies apply
                if log:
                    log(str(exc))
            yield self

    def connect(self, *, read_only: bool = False, on_wait: Callable[[str], None] | None = None
                ) -> duckdb.DuckDBPyConnection:
        return connect(read_only=read_only, on_wait=on_wait)
