"""What orchestration/dagster_internals.py relies on still exists in the installed Dagster: an
upgrade that moves one of them fails here, not silently in a run."""

from __future__ import annotations

import importlib
import inspect

from dagster_dbt import DbtCliResource

from orchestration import dagster_internals as internals


def test_partition_range_tags_are_dagsters():
    tags = importlib.import_module("dagster._core.storage.tags")
    assert tags.ASSET_PARTITION_RANGE_START_TAG == internals.ASSET_PARTITION_RANGE_START_TAG
    assert tags.ASSET_PARTITION_RANGE_END_TAG == internals.ASSET_PARTITION_RANGE_END_TAG


def test_the_dbt_resource_overrides_methods_dagster_dbt_still_calls():
    source = inspect.getsource(DbtCliResource.cli)
    assert "self._cli_version" in source and "self._initialize_dbt_core_adapter(" in source
    from orchestration.defs.dbt.project import dbt_project

    cli = internals.WarehouseDbtCli(project_dir=dbt_project())
    assert cli._initialize_dbt_core_adapter([]) is None
    assert cli._cli_version.major == 1


def test_the_skipped_check_warning_comes_from_the_filtered_logger():
    module = importlib.import_module(internals.SKIPPED_CHECKS_LOGGER)
    assert "emitted no result" in inspect.getsource(module)
