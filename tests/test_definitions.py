"""The code location loads, with every layer as a group, blocking checks, the schedule and sensor."""



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
