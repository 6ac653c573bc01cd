"""Daily partitions of event sources (web events): which day a landing file belongs to.

A source with `partitioned: daily` in sources.yml is loaded one day (or one range of days) at
a time: its extract asset and the dbt models tagged `daily_partitioned` share
`EVENT_DAYS`, so a day can be re-run on its own (idempotent: the loader skips files it already
holds, the dbt models delete and re-insert the day) and a date range back-filled in one run.

A file's day is its delivery day: the date in its name (`2026-10-03.jsonl`, `events_20261003.jsonl.gz`,
what Segment / S3 exports write) or, for a file named without a date, the UTC date it was
last modified. Days before the first partition fall into the first one and days after the last
into the last one, so no file is ever outside every partition (never silently skipped).

A day is done only when its staging is built, not when its file is in raw: the per-day dbt step
records, per source and day, the time up to which raw rows were staged (`raw._event_days_staged`,
written only after dbt succeeded). A day whose raw rows were loaded after that time - a run killed
or failed between the load and the per-day dbt step - is "unstaged", and every later run stages
it: `cdw run` includes it in its range (`orchestration/runner.py`), and the per-day dbt step of any
run (schedule, sensor, UI) widens its window to cover it (`staging_window`).
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

# The first day of the event partitions (CDW_EVENTS_START_DATE overrides it); a backfill from
# here covers everything the demo generator writes (one month before 2026-11-01 by default).
DEFAULT_START = "2026-01-01"
START_DATE = os.environ.get("CDW_EVENTS_START_DATE", DEFAULT_START)

# end_offset=1: today's partition exists, so the hourly schedule can load the files of today
EVENT_DAYS = dg.DailyPartitionsDefinition(start_date=START_DATE, end_offset=1, timezone="UTC")

# dbt models with this tag are built per partition window (see defs/dbt/assets.py)
PARTITIONED_DBT_TAG = "daily_partitioned"

_DATE_IN_NAME = re.compile(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)")


def first_day() -> date:
    return date.fromisoformat(START_DATE)


def last_day(now: datetime | None = None) -> date:
    """The newest partition: today (UTC)."""
    return (now or datetime.now(UTC)).date()


def file_day(path: Path, now: datetime | None = None) -> date:
    """The partition day of a landing file (see the module docstring)."""
    day = None
    for m in _DATE_IN_NAME.finditer(path.name):
        try:
            day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            break
        except ValueError:  # 20261399 is not a date: look further, else fall back to mtime
            continue
    if day is None:
        day = datetime.fromtimestamp(path.stat().st_mtime, UTC).date()
    return min(max(day, first_day()), last_day(now))


def in_window(path: Path, start: date, end_exclusive: date) -> bool:
    return start <= file_day(path) < end_exclusive


def day_key(day: date) -> str:
    return day.isoformat()


def range_tags(start: date, end: date) -> dict[str, str]:
    """Run tags that make one run cover the partitions start..end (inclusive): a single-run
    backfill, the way `cdw run`, the daily schedule and the sensor launch the pipeline."""
    from orchestration.dagster_internals import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

    return {ASSET_PARTITION_RANGE_START_TAG: day_key(start), ASSET_PARTITION_RANGE_END_TAG: day_key(end)}


STAGED_TABLE = "raw._event_days_staged"


def _partitioned_tables(con) -> list[tuple[str, str]]:
    """(source, raw table) of the partitioned sources whose raw table exists."""
    from orchestration.extract.contracts import contracts

    existing = {f"raw.{name}" for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'").fetchall()}
    return [(c.name, c.table) for c in contracts().values() if c.partitioned and c.table in existing]


def unstaged_days(con) -> list[date]:
    """Days with raw rows loaded after their staging was last built (or never built)."""
    tables = _partitioned_tables(con)
    if not tables:
        return []
    has_record = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'raw' "
                             "AND table_name = '_event_days_staged'").fetchone()[0]
    days: set[date] = set()
    for source, table in tables:
        staged = (f"LEFT JOIN {STAGED_TABLE} s ON s.source = ? AND s.day = r.day" if has_record
                  else "LEFT JOIN (SELECT NULL::DATE AS day, NULL::TIMESTAMP AS staged_as_of) s ON false")
        rows = con.execute(
            f"""SELECT r.day FROM (SELECT _delivery_day AS day, max(_loaded_at) AS loaded_at FROM {table}
                                   WHERE _delivery_day IS NOT NULL GROUP BY 1) r
                {staged}
                WHERE s.staged_as_of IS NULL OR r.loaded_at > s.staged_as_of""",
            [source] if has_record else []).fetchall()
        days.update(d for (d,) in rows)
    return sorted(days)


def staging_window(con, start: date, end_exclusive: date) -> tuple[date, date, datetime, list[date]]:
    """The days the per-day dbt step builds: its partition window widened to every unstaged day;
    with the time to record as staged once dbt succeeded (taken before it starts, naive UTC like
    raw._loaded_at) and the unstaged days outside the window."""
    as_of = datetime.now(UTC).replace(tzinfo=None)
    behind = [d for d in unstaged_days(con) if not start <= d < end_exclusive]
    if behind:
        start = min(start, *behind)
        end_exclusive = max(end_exclusive, max(behind) + timedelta(days=1))
    return start, end_exclusive, as_of, behind


def record_staged(con, start: date, end_exclusive: date, as_of: datetime, run_id: str) -> None:
    """The days [start, end) of every partitioned source are staged up to `as_of` (after dbt succeeded)."""
    con.execute(f"CREATE TABLE IF NOT EXISTS {STAGED_TABLE} (source VARCHAR, day DATE, staged_as_of TIMESTAMP, "
                "run_id VARCHAR, PRIMARY KEY (source, day))")
    days = [start + timedelta(days=i) for i in range((end_exclusive - start).days)]
    for source, _ in _partitioned_tables(con):
        con.executemany(
            f"INSERT OR REPLACE INTO {STAGED_TABLE} VALUES (?, ?, ?, ?)",
            [[source, d, as_of, run_id] for d in days])
