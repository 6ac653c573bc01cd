"""The Dagster code location: thin, everything lives in orchestration/defs/."""

import dagster as dg

from orchestration import settings

settings.export_env()

from orchestration.defs.alerts import run_failure_alert  # noqa: E402
from orchestration.defs.automation import (  # noqa: E402
    daily_full_pipeline,
    erasure_requests_sensor,
    event_days,
    full_pipeline,
    hourly_event_days,
    landing_files_sensor,
)
from orchestration.defs.dbt.assets import dbt_resource, event_day_dbt_models, resolved_dbt_models, warehouse_dbt_models  # noqa: E402
from orchestration.defs.exports.assets import export_assets  # noqa: E402
from orchestration.defs.extract.assets import extract_assets  # noqa: E402
from orchestration.defs.extract.crm_api import CrmApiResource, crm_api_pull  # noqa: E402
from orchestration.defs.governance.assets import governance_assets  # noqa: E402
from orchestration.defs.identity.assets import identity_accuracy, identity_step_assets  # noqa: E402
from orchestration.defs.quality.checks import gx_checks  # noqa: E402
from orchestration.warehouse import WarehouseResource  # noqa: E402

defs = dg.Definitions(
    assets=[crm_api_pull, *extract_assets, event_day_dbt_models, warehouse_dbt_models, *identity_step_assets,
            resolved_dbt_models, *export_assets, *governance_assets, identity_accuracy],
    asset_checks=gx_checks,
    jobs=[full_pipeline, event_days],
    schedules=[daily_full_pipeline, hourly_event_days],
    sensors=[landing_files_sensor, erasure_requests_sensor, run_failure_alert],
    # "warehouse": every run holds the run lock while it goes (orchestration/warehouse.py)
    resources={"dbt": dbt_resource(), "crm_api": CrmApiResource(), "warehouse": WarehouseResource()},
    # One process, steps in order: DuckDB has one writer per file, and in-process steps cost
    # ~0.5 s against ~4 s for multiprocess on this machine.
    executor=dg.in_process_executor,
)
