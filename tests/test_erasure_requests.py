"""Erasure request files and the sensor that records them, against a warehouse a run holds
locked (a real DuckDB write lock, taken by another process): nothing recorded is left without
its run, nothing waiting is lost, and why a tick did nothing is said."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from conftest import use_home

KEY = "test-erasure-key-0123456789abcdef"
HOLD_LOCK = "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('locked', flush=True); sys.stdin.read()"


class WriteLock:
    """Another process holding the warehouse's write lock, as a running pipeline does."""

    def __init__(self, path: Path):
        self.proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        self.proc.communicate(input="", timeout=30)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CDW_ERASURE_KEY", KEY)
    monkeypatch.delenv("CDW_CRM_API_URL", raising=False)
    use_home(tmp_path)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
    requests = tmp_path / "landing" / "requests"
    requests.mkdir(parents=True)
    (requests / "a-ticket.txt").write_text("ann@example.com\n")
    (requests / "b-ticket.json").write_text(json.dumps({"identifier": "bob@example.com"}))
    return tmp_path


def tick():
    from orchestration.defs.automation import erasure_requests_sensor

    return erasure_requests_sensor(dg.build_sensor_context())


def run_requests(result) -> list[dg.RunRequest]:
    """The runs a tick requested, whichever way the sensor returned them."""
    if result is None or isinstance(result, dg.SkipReason):
        return []
    if isinstance(result, dg.SensorResult):
        return list(result.run_requests or [])
    return [r for r in result if isinstance(r, dg.RunRequest)]


def test_a_busy_warehouse_leaves_every_request_for_the_next_tick_and_says_why(home):
    from orchestration.governance.erasure import erasure_count

    lock = WriteLock(home / "warehouse.duckdb")
    try:
        result = tick()
    finally:
        lock.release()
    assert isinstance(result, dg.SkipReason), f"the skip reason was lost: {result!r}"
    assert "busy" in result.skip_message and "a-ticket.txt" in result.skip_message
    assert "ann@" not in result.skip_message  # the reason names the file, never the person
    assert erasure_count() == 0
    assert sorted(p.name for p in (home / "landing" / "requests").iterdir()) == ["a-ticket.txt", "b-ticket.json"]


def test_two_requests_when_the_warehouse_turns_busy_between_them(home, monkeypatch):
    """The first request is recorded, then a run takes the lock: the first must get its run (and
    only then lose its file), the second must wait, file kept, and go through on the next tick."""
    from orchestration.defs import automation
    from orchestration.governance import erasure

    real = erasure.request_erasure
    locks: list[WriteLock] = []

    def request_then_a_run_starts(identifier, **kwargs):
        summary = real(identifier, **kwargs)
        if not locks:
            locks.append(WriteLock(home / "warehouse.duckdb"))
        return summary

    monkeypatch.setattr(erasure, "request_erasure", request_then_a_run_starts)
    monkeypatch.setattr(automation, "request_erasure", request_then_a_run_starts, raising=False)
    requests = home / "landing" / "requests"
    try:
        runs = run_requests(tick())
    finally:
        for lock in locks:
            lock.release()
    assert erasure.erasure_count() == 1
    assert len(runs) == 1, "the first request was recorded (and its file deleted) but no run enforces it"
    assert runs[0].tags["cdw/erasures"] == "1"
    assert [p.name for p in requests.iterdir()] == ["b-ticket.json"]  # a: recorded and its run requested
    second = tick()  # the run ended: the lock is free
    (run2,) = run_requests(second)
    assert run2.tags["cdw/erasures"] == "1" and run2.run_key != runs[0].run_key
    assert erasure.erasure_count() == 2
    assert list(requests.iterdir()) == []
    assert isinstance(tick(), dg.SkipReason)


def test_an_unreadable_request_is_left_in_place_and_does_not_block_the_others(home):
    from orchestration.governance.erasure import erasure_count

    requests = home / "landing" / "requests"
    (requests / "0-garbage.txt").write_text("not an identifier at all\n")
    runs = run_requests(tick())
    assert erasure_count() == 2
    assert len(runs) == 1 and runs[0].tags["cdw/erasures"] == "2"
    assert [p.name for p in requests.iterdir()] == ["0-garbage.txt"]
