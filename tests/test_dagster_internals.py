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


def test_dbt_step_target_folders_are_pruned_to_the_newest_few_old_ones(tmp_path):
    import os
    import time

    from orchestration.defs.dbt.assets import _prune_step_targets

    now = time.time()
    for i in range(10):  # ten step folders, 700 s apart: the oldest five over an hour old
        folder = tmp_path / f"warehouse_dbt_models-run{i:05d}"
        folder.mkdir()
        (folder / "run_results.json").write_text("{}")
        age = (10 - i) * 700
        os.utime(folder, (now - age, now - age))
    (tmp_path / "partial_parse.msgpack").write_text("state")
    _prune_step_targets(tmp_path, keep=3, min_age_s=3600)
    left = sorted(p.name for p in tmp_path.iterdir())
    # kept: the newest three, and the older ones still under an hour old (ages 3500 and 2800 s)
    assert left == ["partial_parse.msgpack"] + [f"warehouse_dbt_models-run{i:05d}" for i in range(5, 10)]
