"""Daily partitions of event sources (web events): which day a landing file belongs to.

A source with `partitioned: daily` in sources.yml is loaded one day (or one range of days) at
a time: its extract asset and the dbt models tagged `daily_partitioned` share
`EVENT_DAYS`, so a day can be re-run on its own (idempotent: the loader skips files it already
holds, the dbt models delete and re-insert the day) and a date range back-filled in one run.

A file's day is its delivery day: the date in its name (`2026-10-03.jsonl`, `events_20261003.jsonl.gz`,
what Segment / S3 exports write) or, for a file named without a date, the UTC date it was
last modified. Days before the first partition fall into the first one and days after the last
into the last one, so no file is ever outside every partition (never silently skipped).
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime, timezone
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
    return (now or datetime.now(timezone.utc)).date()


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
        day = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).date()
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
