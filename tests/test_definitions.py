"""The code location loads, with every layer as a group, blocking checks, the schedule and sensor;
importing it only defines."""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

IMPORT = """
import json, os
path = os.environ["PATH"]
from orchestration.definitions import defs
print(json.dumps({"path": os.environ["PATH"], "before": path, "assets": len(list(defs.resolve_asset_graph().get_all_asset_keys()))}))
"""


def _files(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*")} if folder.exists() else {}


def test_importing_the_definitions_writes_nothing_and_leaves_path_alone(tmp_path):
    """A fresh process with a new CDW_HOME and the venv not on PATH imports the code location (as
    `dagster dev -w workspace.yaml` does once `cdw prepare` made the manifest): no dagster.yaml,
    no folder, no file in the working directory or dbt's target, PATH as it was."""
    bare_path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != str(Path(sys.executable).parent))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDW_HOME", "CDW_WAREHOUSE", "DAGSTER_"))}
    # a dbt target of its own: no other build in this checkout writes to it while the test looks
    env["CDW_DBT_TARGET_PATH"] = str(tmp_path / "dbt_target")
    prepared = subprocess.run([sys.executable, "-m", "orchestration.cli", "prepare"], cwd=REPO, capture_output=True,
                              text=True, env={**env, "CDW_HOME": str(tmp_path / "prepared")}, timeout=600)
    assert prepared.returncode == 0, prepared.stderr[-2000:]
    assert (tmp_path / "prepared" / "dagster" / "dagster.yaml").exists()  # `cdw prepare` does make the instance

    home, cwd = tmp_path / "home", tmp_path / "cwd"
    cwd.mkdir()
    target = tmp_path / "dbt_target"
    before = _files(target)
    assert "manifest.json" in before
    done = subprocess.run([sys.executable, "-c", IMPORT], cwd=cwd, capture_output=True, text=True, timeout=600,
                          env={**env, "CDW_HOME": str(home), "PATH": bare_path, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["assets"] > 50
    assert out["path"] == out["before"] == bare_path
    assert not home.exists() and not list(cwd.iterdir())
    assert _files(target) == before  # no dbt parse: the manifest and partial-parse state untouched



def test_definitions_load_with_layers_checks_schedule_and_sensor():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for key in ("raw/crm_contacts", "raw/crm_companies", "raw/crm_deals", "raw/web_events",
                "raw/email_members", "raw/email_campaigns", "raw/email_events", "raw/ad_spend",
                "marts/customers", "marts/accounts", "marts/customer_source_records",
                "marts/email_audience", "exports/email_audience"):
        assert key in keys, key
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys() if graph.has(k) and graph.get(k).is_materializable}
    assert {"extract", "staging", "identity", "marts", "exports"} <= groups

    checks = {c.name: c for c in graph.asset_check_keys}
    assert {"gx_customers", "gx_email_audience"} <= set(checks)
    gx_specs = [spec for d in defs.asset_checks for spec in d.check_specs]
    assert {s.name for s in gx_specs} >= {"gx_customers", "gx_email_audience"}
    assert all(s.blocking for s in gx_specs)

    assert defs.resolve_schedule_def("daily_full_pipeline").cron_schedule == "0 3 * * *"
    assert defs.resolve_sensor_def("landing_files_sensor")
    assert defs.resolve_job_def("full_pipeline")


def test_every_export_and_the_snapshot_wait_for_every_gated_table():
    """Blocking checks hold only the direct downstream of their asset: whatever publishes must
    name every gated table (raw, staging, identity, marts) as a dependency."""
    from orchestration.defs.exports.assets import export_assets
    from orchestration.defs.governance.assets import analyst_snapshot
    from orchestration.defs.quality.checks import gated_asset_keys

    gated = set(gated_asset_keys())
    assert any(k.path[0] == "staging" for k in gated) and any(k.path[0] == "raw" for k in gated)
    for asset in [*export_assets, analyst_snapshot]:
        deps = {d.asset_key for d in asset.specs_by_key[asset.key].deps}
        assert gated <= deps, (asset.key.to_user_string(), sorted(k.to_user_string() for k in gated - deps))


def test_identity_python_steps_sit_between_the_dbt_selections_in_one_graph():
    """The identity steps that are not SQL are Dagster assets (not dbt Python models, which
    dbt-spark cannot run): upstream of them the dbt identity models, downstream the dbt models that
    read them as the source `identity` - one lineage in the UI, two dbt steps in a run."""
    from orchestration.definitions import defs
    from orchestration.defs.dbt.assets import resolved_dbt_models, warehouse_dbt_models

    graph = defs.resolve_asset_graph()

    def keys(*names):
        return {dg_key(n) for n in names}

    def parents(name):
        return {k.to_user_string() for k in graph.get(dg_key(name)).parent_keys}

    def children(name):
        return {k.to_user_string() for k in graph.get(dg_key(name)).child_keys}

    steps = ("intermediate/int_identity_match_pairs", "intermediate/int_identity_components",
             "intermediate/int_identity_account_clusters")
    for name in steps:
        node = graph.get(dg_key(name))
        assert node.is_materializable and node.group_name == "identity", name
        # not a dbt model: built by its own asset, in neither dbt selection
        assert dg_key(name) not in set(warehouse_dbt_models.keys) | set(resolved_dbt_models.keys), name
    assert parents("intermediate/int_identity_match_pairs") == {
        "intermediate/int_identity_records", "intermediate/int_identity_record_identifiers", "intermediate/int_identity_edges"}
    assert parents("intermediate/int_identity_components") == {
        "intermediate/int_identity_records", "intermediate/int_identity_edges", "intermediate/int_identity_match_pairs"}
    assert parents("intermediate/int_identity_account_clusters") == {"staging/stg_crm__companies", "seeds/free_email_domains"}
    # what they read is built by the first dbt selection, what reads them by the second
    assert keys("intermediate/int_identity_records", "intermediate/int_identity_edges", "staging/stg_crm__companies",
                "intermediate/int_identity_custom_identifiers") <= set(warehouse_dbt_models.keys)
    assert {"intermediate/int_customer_attributes_survived", "marts/customers", "marts/customer_source_records",
            "intermediate/int_consent_events"} <= children("intermediate/int_identity_components")
    assert {"marts/accounts", "intermediate/int_customer_accounts_linked"} <= children("intermediate/int_identity_account_clusters")
    assert keys("marts/customers", "marts/accounts", "intermediate/int_customer_attributes_survived") <= set(resolved_dbt_models.keys)
    # the identity tables' dbt tests are checks of the identity assets, run by the second selection
    checks = {(c.asset_key.to_user_string(), c.name) for c in resolved_dbt_models.check_specs}
    assert ("intermediate/int_identity_components", "source_unique_identity_int_identity_components_record_key") in checks
    assert ("intermediate/int_identity_account_clusters", "source_unique_identity_int_identity_account_clusters_company_id") in checks
    # one op per dbt selection: Dagster did not have to split either around the assets
    job = defs.resolve_job_def("full_pipeline")
    ops = sorted(n.name for n in job.graph.nodes if n.name.endswith("dbt_models") or "dbt_models_" in n.name)
    assert ops == ["event_day_dbt_models", "resolved_dbt_models", "warehouse_dbt_models"]


def dg_key(name: str):
    import dagster as dg

    return dg.AssetKey(name.split("/"))
