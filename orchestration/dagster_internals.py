"""The one place this project relies on Dagster and dagster-dbt beyond their public API.

Everything else uses public, documented APIs. Each item here has no public equivalent (checked
against dagster 1.13 / dagster-dbt 0.29); `tests/test_dagster_internals.py` fails on an upgrade
that moves or renames one, instead of the pipeline silently losing what it buys.

1. Partition range run tags. One run covering a range of partitions (a single-run backfill, the
   way `cdw run`, the schedule and the sensors launch the pipeline) is requested with the tags
   `dagster/asset_partition_range_start|end`. Dagster documents these tags for ranged runs but
   exports their names only from a private module, so they are spelt out here.

2. dbt CLI resource without two per-step costs (`WarehouseDbtCli`, ≈3 s per dbt step, measured).
   dagster-dbt's `DbtCliResource.cli` first runs `dbt --version` in a subprocess and builds a dbt
   adapter in the step's own process (it loads every macro, and held a DuckDB handle that the
   in-process steps after it had to wait for) - used only by `fetch_row_counts` / column metadata,
   which this project does not use (row counts come from dbt's own events). There is no public
   switch for either, so two private methods are overridden.

3. Quiet skipped gates (`QUIET_SKIPPED_CHECKS`). When the warehouse build is skipped (nothing it
   reads changed: orchestration/defs/dbt/unchanged.py), Dagster logs one warning per blocking
   check per downstream step ("emitted no result ... will proceed without gating on it") although
   those steps skip: hundreds of misleading lines. The warning comes from a logger named after a
   private module; the filter drops it only while the current build is skipped.
"""

from __future__ import annotations

import logging
from functools import cached_property

from dagster_dbt import DbtCliResource

ASSET_PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
ASSET_PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"


class WarehouseDbtCli(DbtCliResource):
    """dagster-dbt's dbt CLI resource without `dbt --version` nor an in-process dbt adapter."""

    @cached_property
    def _cli_version(self):
        # the dbt run is this environment's: its dbt-core version is in the package metadata
        from importlib.metadata import version as installed

        from packaging import version

        return version.parse(installed("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None


class _QuietSkippedChecks(logging.Filter):
    skipped = False

    def filter(self, record: logging.LogRecord) -> bool:
        return not (self.skipped and "emitted no result" in record.getMessage())


SKIPPED_CHECKS_LOGGER = "dagster._core.execution.plan.active"
QUIET_SKIPPED_CHECKS = _QuietSkippedChecks()
logging.getLogger(SKIPPED_CHECKS_LOGGER).addFilter(QUIET_SKIPPED_CHECKS)
