"""Daily partitions of web events: a file's day, per-day incremental dbt, re-runs, backfills,
the schedules and the landing sensor (issue 7)."""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from conftest import use_home

from orchestration import partitions

PEOPLE = 200
SEED = 5


def test_file_day_from_name_mtime_and_clamped(tmp_path):
    named = tmp_path / "2026-10-03.jsonl"
    compact = tmp_path / "events_20261004.jsonl.gz"
    undated = tmp_path / "export.jsonl"
    not_a_date = tmp_path / "batch_20261399.jsonl"
    ancient = tmp_path / "1999-01-01.jsonl"
    future = tmp_path / "2999-01-01.jsonl"
    for p in (named, compact, undated, not_a_date, ancient, future):
        p.write_text("{}\n")
    stamp = datetime(2026, 10, 9, 12, tzinfo=UTC).timestamp()
    os.utime(undated, (stamp, stamp))
    os.utime(not_a_date, (stamp, stamp))
    now = datetime(2026, 11, 23, tzinfo=UTC)
    assert partitions.file_day(named, now) == date(2026, 10, 3)
    assert partitions.file_day(compact, now) == date(2026, 10, 4)
    assert partitions.file_day(undated, now) == date(2026, 10, 9)  # no date in the name: modification day
    assert partitions.file_day(not_a_date, now) == date(2026, 10, 9)
    assert partitions.file_day(ancient, now) == partitions.first_day()  # never outside every partition
    assert partitions.file_day(future, now) == date(2026, 11, 23)


@pytest.fixture(scope="module")
def events_home(tmp_path_factory):
    from orchestration.demo.generator import generate
    from orchestration.runner import run_pipeline

    home = tmp_path_factory.mktemp("cdw_partitions")
    use_home(home)
    generate(home / "landing", people=PEOPLE, seed=SEED)
    result = run_pipeline(log_level="WARNING")
    assert result.success
    return home


def _sql(home: Path, query: str, params=None):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(query, params or []).fetchall()


def _write(home: Path, statements: list[str]) -> None:
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        for s in statements:
            con.execute(s)


def _per_day(home: Path) -> dict:
    return dict(_sql(home, "SELECT delivery_day, count(*) FROM staging.stg_web__events GROUP BY 1"))


def _run_days(home: Path, first: date, last: date):
    from orchestration.runner import run_pipeline

    use_home(home)
    result = run_pipeline("event_days", log_level="WARNING", days=(first, last))
    assert result.success
    return result


def test_every_raw_event_row_carries_its_day_and_staging_is_per_day(events_home):
    days = _sql(events_home, "SELECT DISTINCT _delivery_day FROM raw.web_events ORDER BY 1")
    files = sorted(p.name[:10] for p in (events_home / "landing/web/events").glob("*.jsonl"))
    assert [d.isoformat() for (d,) in days] == files
    assert _sql(events_home, "SELECT count(*) FROM raw.web_events WHERE _delivery_day IS NULL")[0][0] == 0
    staged = _per_day(events_home)
    distinct = dict(_sql(events_home, """
        SELECT _delivery_day, count(DISTINCT json_extract_string(payload, '$.messageId'))
        FROM raw.web_events GROUP BY 1"""))
    assert staged == distinct


def test_rerunning_a_day_rebuilds_that_day_only_and_is_idempotent(events_home):
    days = sorted(_per_day(events_home))
    d1, d2 = days[0], days[-1]
    before = _per_day(events_home)
    # mark one event of each of two days: a re-run of d2 rebuilds d2 (mark gone), not d1
    _write(events_home, [
        f"UPDATE staging.stg_web__events SET page_title = 'MARK' WHERE delivery_day IN ('{d1}', '{d2}')"])
    _run_days(events_home, d2, d2)
    marks = dict(_sql(events_home, "SELECT delivery_day, count(*) FROM staging.stg_web__events "
                                   "WHERE page_title = 'MARK' GROUP BY 1"))
    assert d2 not in marks and marks[d1] == before[d1]
    assert _per_day(events_home) == before  # the same rows again: idempotent
    _run_days(events_home, d2, d2)
    assert _per_day(events_home) == before

    # a backfill of a range of days is one run (single-run backfill policy) and rebuilds them all
    result = _run_days(events_home, d1, d2)
    assert _sql(events_home, "SELECT count(*) FROM staging.stg_web__events WHERE page_title = 'MARK'")[0][0] == 0
    assert _per_day(events_home) == before
    planned = {e.partition for e in result.all_events if e.event_type_value == "ASSET_MATERIALIZATION"}
    assert {d1.isoformat(), d2.isoformat()} <= planned and len(planned) == (d2 - d1).days + 1


def test_a_new_day_is_loaded_by_the_next_run_and_rows_deleted_from_raw_leave_staging(events_home):
    from orchestration.runner import pending_event_days, run_pipeline

    use_home(events_home)
    folder = events_home / "landing/web/events"
    last = sorted(folder.glob("*.jsonl"))[-1]
    new_day = date.fromisoformat(last.name[:10]) + timedelta(days=1)
    lines = last.read_text().splitlines()[:25]
    (folder / f"{new_day.isoformat()}.jsonl").write_text(
        "\n".join(line.replace('"messageId":"', '"messageId":"late-') for line in lines) + "\n")
    assert pending_event_days() == (new_day, partitions.last_day())
    result = run_pipeline("event_days", log_level="WARNING")  # the days run_pipeline finds pending
    assert result.success
    assert _per_day(events_home)[new_day] == 25
    assert pending_event_days() == (partitions.last_day(), partitions.last_day())  # nothing new

    # rows that leave raw (an erasure, a retention purge) leave the incremental model too
    gone = _sql(events_home, "SELECT _file FROM raw.web_events WHERE _delivery_day = ? LIMIT 1", [new_day])[0][0]
    _write(events_home, [f"DELETE FROM raw.web_events WHERE _file = '{gone}' AND _line <= 10"])
    _run_days(events_home, partitions.last_day(), partitions.last_day())  # a run of another day
    assert _per_day(events_home)[new_day] == 15


def _deliver_day(home: Path, day: date, prefix: str, n: int = 30) -> None:
    """A new day file of web events: the first n events of the newest file, new messageIds."""
    folder = home / "landing/web/events"
    source = sorted(folder.glob("*.jsonl"))[0]
    lines = source.read_text().splitlines()[:n]
    (folder / f"{day.isoformat()}.jsonl").write_text(
        "\n".join(line.replace('"messageId":"', f'"messageId":"{prefix}-') for line in lines) + "\n")


def _load_raw_then_die(home: Path, day: date) -> None:
    """A run that loaded the day into raw and stopped before the per-day dbt step (killed, or
    failed in between): the extract asset alone, as such a run leaves the warehouse."""
    from orchestration.definitions import defs

    use_home(home)
    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def("event_days").execute_in_process(
            instance=instance, partition_key=day.isoformat(), raise_on_error=False,
            asset_selection=[dg.AssetKey(["raw", "web_events"])])
    assert result.success
    assert _sql(home, "SELECT count(*) FROM raw.web_events WHERE _delivery_day = ?", [day])[0][0] == 30
    assert day not in _per_day(home)


def test_a_day_in_raw_whose_run_stopped_before_dbt_is_staged_by_every_later_run(events_home):
    """Issue 20: a day is done when its staging is built, not when its file is in raw."""
    from orchestration.runner import pending_event_days, run_pipeline

    newest = max(_per_day(events_home))
    lost, lost_again, left_behind = (newest + timedelta(days=k) for k in (2, 3, 4))

    _deliver_day(events_home, lost, "lost")
    _load_raw_then_die(events_home, lost)
    assert pending_event_days()[0] == lost  # the next `cdw run` covers it although its file is loaded
    assert run_pipeline("event_days", log_level="WARNING").success  # the days `cdw run` covers, its dbt step
    assert _per_day(events_home)[lost] == 30

    _deliver_day(events_home, lost_again, "lost-again")
    _load_raw_then_die(events_home, lost_again)
    assert run_pipeline("event_days", log_level="WARNING", rebuild=True).success  # `cdw run --rebuild`
    assert _per_day(events_home)[lost_again] == 30

    # a run the daemon launches for another day (the hourly schedule: today only) stages it too
    _deliver_day(events_home, left_behind, "left-behind")
    _load_raw_then_die(events_home, left_behind)
    _run_days(events_home, partitions.last_day(), partitions.last_day())
    assert _per_day(events_home)[left_behind] == 30
    assert pending_event_days() == (partitions.last_day(), partitions.last_day())  # nothing left behind


def test_schedules_and_sensor_cover_the_days_of_new_files(tmp_path):
    from orchestration.definitions import defs

    use_home(tmp_path)
    old = tmp_path / "landing/web/events/2026-10-19.jsonl"
    old.parent.mkdir(parents=True)
    old.write_text("{}\n")
    os.utime(old, (time.time() - 3 * 86400,) * 2)  # delivered days ago, already handled
    repo = defs.get_repository_def()
    instance = dg.DagsterInstance.ephemeral()
    hourly = defs.resolve_schedule_def("hourly_event_days")
    tick = datetime(2026, 11, 20, 10, 15, tzinfo=UTC)
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=tick, repository_def=repo) as ctx:
        request = hourly.evaluate_tick(ctx).run_requests[0]
    assert request.partition_key == "2026-11-20"

    # a late file for an old day, modified just before the daily tick: the run reaches back to it
    late = tmp_path / "landing/web/events/2026-10-20-late.jsonl"
    late.write_text('{"messageId":"x","type":"track","timestamp":"2026-10-20T10:00:00Z","anonymousId":"a"}\n')
    now = time.time()
    daily = defs.resolve_schedule_def("daily_full_pipeline")
    tick = datetime.fromtimestamp(now - 30 + 86400, UTC)  # the previous tick was 30 s ago
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=tick, repository_def=repo) as ctx:
        request = daily.evaluate_tick(ctx).run_requests[0]
    expected = partitions.range_tags(date(2026, 10, 20), tick.date())
    assert all(request.tags[k] == v for k, v in expected.items())
    tags = partitions.range_tags(date(2026, 10, 20), partitions.last_day())

    sensor = defs.resolve_sensor_def("landing_files_sensor")
    with dg.build_sensor_context(instance=instance, cursor=str(now - 5), repository_def=repo) as ctx:
        first = sensor.evaluate_tick(ctx)
    assert len(first.run_requests) == 1 and first.run_requests[0].run_key.startswith("landing-")
    assert {**tags, "cdw/new_files": "1"}.items() <= first.run_requests[0].tags.items()
    with dg.build_sensor_context(instance=instance, cursor=str(now - 5), repository_def=repo) as ctx:
        again = sensor.evaluate_tick(ctx)
    assert again.run_requests[0].run_key == first.run_requests[0].run_key  # same file, same key: runs once
    with dg.build_sensor_context(instance=instance, cursor=first.cursor, repository_def=repo) as ctx:
        assert not sensor.evaluate_tick(ctx).run_requests  # the cursor moved past it


def test_instance_runs_one_at_a_time_and_retries_failed_runs(tmp_path):
    use_home(tmp_path)
    with dg.DagsterInstance.get() as instance:
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 1
