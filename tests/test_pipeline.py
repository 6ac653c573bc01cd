"""The whole pipeline end to end through Dagster on generated demo sources."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from itertools import combinations

import dagster as dg


def test_both_runs_succeed(demo):
    for result in (demo.first, demo.second):
        assert result.success
    keys = {e.asset_key.to_user_string() for e in demo.first.get_asset_materialization_events()}
    for expected in ("raw/crm_contacts", "raw/web_events", "staging/stg_crm__contacts", "marts/customers",
                     "marts/accounts", "marts/customer_source_records", "marts/email_audience",
                     "exports/email_audience"):
        assert expected in keys, f"{expected} not materialized"


def test_dbt_tables_carry_their_row_counts_in_the_ui(demo):
    """Each dbt table's materialization (models, the incremental event model, seeds) shows its row
    count, logged by dbt as the table finished, and so does each identity asset's table; views show none."""
    meta = {e.asset_key.to_user_string(): e.materialization.metadata for e in demo.second.get_asset_materialization_events()}
    tables = {f"{s}/{t}" for s, t in demo.sql(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('staging', 'intermediate', 'marts', 'seeds')")}
    counted = sorted(k for k in tables if k in meta and "unique_id" in meta[k])  # dbt's
    for key in ("marts/customers", "staging/stg_web__events", "intermediate/int_identity_records", "seeds/free_email_domains"):
        assert key in counted, key
    identity_assets = ["intermediate/int_identity_match_pairs", "intermediate/int_identity_components",
                       "intermediate/int_identity_account_clusters"]
    for key in counted + identity_assets:
        schema, table = key.split("/")
        assert meta[key]["dagster/row_count"].value == demo.sql(f'SELECT count(*) FROM {schema}."{table}"')[0][0], key
    assert meta["marts/customers"]["dagster/row_count"].value > 0
    views = {f"{s}/{t}" for s, t in demo.sql("SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal")}
    materialized_views = [k for k in views if k in meta]
    assert "staging/stg_crm__companies" in materialized_views
    assert not [k for k in materialized_views if "dagster/row_count" in meta[k]]


def test_dbt_steps_parse_only_what_changed(demo):
    """The second run's dbt steps start from the state the first run left (dbt's partial parsing),
    not from a parse of the whole project."""
    from orchestration.defs.dbt.project import dbt_project

    project = dbt_project()
    logs = sorted((project.project_dir / project.target_path).glob(f"*_dbt_models-{demo.second.run_id[:8]}/dbt.log"))
    assert len(logs) == 3  # the event-day models, the models before identity and after it
    for log in logs:
        text = log.read_text()
        assert "Unable to do partial parsing" not in text, log


def test_identity_assets_run_between_the_two_dbt_steps(demo):
    """Matching, components and account clustering run as Dagster assets after the dbt step that
    builds what they read and before the dbt step that reads them, in every run."""
    for run in (demo.first, demo.second):
        first: dict[str, tuple[int, str]] = {}
        for i, event in enumerate(e for e in run.all_events if e.is_step_materialization):
            first.setdefault(event.asset_key.to_user_string(), (i, event.step_key))
        order = [first[k] for k in ("intermediate/int_identity_edges", "intermediate/int_identity_match_pairs",
                                    "intermediate/int_identity_components", "intermediate/int_customer_attributes_survived",
                                    "marts/customers")]
        assert order == sorted(order)
        assert [step for _, step in order] == ["warehouse_dbt_models", "intermediate__int_identity_match_pairs",
                                               "intermediate__int_identity_components", "resolved_dbt_models",
                                               "resolved_dbt_models"]
        accounts = [first[k] for k in ("staging/stg_crm__companies", "intermediate/int_identity_account_clusters",
                                       "marts/accounts")]
        assert accounts == sorted(accounts)


def test_quality_gate_ran_and_passed(demo):
    evaluations = {e.asset_check_key.name: e for e in demo.first.get_asset_check_evaluations()}
    assert evaluations["gx_customers"].passed
    assert evaluations["gx_email_audience"].passed
    meta = evaluations["gx_customers"].metadata
    assert meta["expectations_failed"].value == 0
    assert meta["rows_validated"].value > 0


def test_marts_are_non_empty_and_counts_add_up(demo):
    (customers,) = demo.sql("SELECT count(*) FROM marts.customers")[0]
    (accounts,) = demo.sql("SELECT count(*) FROM marts.accounts")[0]
    (records,) = demo.sql("SELECT count(*) FROM marts.customer_source_records")[0]
    assert customers > 0 and accounts > 0 and records >= customers
    # every source record mapped exactly once, to a customer that exists
    assert demo.sql("SELECT count(*) FROM (SELECT DISTINCT source, source_record_id FROM marts.customer_source_records)")[0][0] == records
    assert demo.sql("""SELECT count(*) FROM marts.customer_source_records r
                       LEFT JOIN marts.customers c USING (customer_id) WHERE c.customer_id IS NULL""")[0][0] == 0
    # each customer's record count is what the mapping says
    assert demo.sql("SELECT sum(source_record_count) FROM marts.customers")[0][0] == records
    # every CRM contact and email member that loaded is mapped (staging keeps one row per id)
    for source, stg in (("crm_contacts", "staging.stg_crm__contacts"), ("email_members", "staging.stg_marketing__email_members")):
        (n_stg,) = demo.sql(f"SELECT count(*) FROM {stg}")[0]
        (n_map,) = demo.sql("SELECT count(*) FROM marts.customer_source_records WHERE source = ?", [source])[0]
        assert n_map == n_stg, source
    # raw + quarantine (+ exact duplicate lines, counted) account for every line the extract read
    for rows_read, loaded, quarantined, duplicate in demo.sql(
        "SELECT rows_read, rows_loaded, rows_quarantined, rows_duplicate FROM raw._load_log WHERE status = 'loaded'"
    ):
        assert rows_read == loaded + quarantined + duplicate


def test_rerun_does_not_duplicate_raw_rows(demo):
    assert demo.raw_after_first and all(n > 0 for n in demo.raw_after_first.values())
    assert demo.raw_after_second == demo.raw_after_first
    statuses = dict(demo.sql("SELECT status, count(*) FROM raw._load_log GROUP BY 1"))
    assert "duplicate" not in statuses  # the same files seen again are not even logged twice


def pairwise_accuracy(demo) -> tuple[float, float]:
    truth = {}
    with open(demo.home / "landing" / "_truth" / "people.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            truth[(row["source"], row["source_record_id"])] = row["person_id"]
    predicted = {(s, r): c for s, r, c in demo.sql("SELECT source, source_record_id, customer_id FROM marts.customer_source_records")}
    common = [k for k in predicted if k in truth]
    assert len(common) > 0.95 * len(predicted), "most mapped records must be in the truth file"

    def pairs(assign):
        groups = defaultdict(list)
        for k in common:
            groups[assign[k]].append(k)
        return {tuple(sorted(p)) for g in groups.values() for p in combinations(sorted(g), 2)}

    true_pairs, pred_pairs = pairs(truth), pairs(predicted)
    tp = len(true_pairs & pred_pairs)
    return tp / len(pred_pairs), tp / len(true_pairs)


def test_identity_resolution_merges_planted_duplicates(demo):
    precision, recall = pairwise_accuracy(demo)
    print(f"pairwise precision={precision:.4f} recall={recall:.4f}")
    assert precision >= 0.99
    assert recall >= 0.95
    # the generator planted duplicates: some customers must unify several CRM contacts
    assert demo.sql("""SELECT count(*) FROM (SELECT customer_id FROM marts.customer_source_records
                       WHERE source = 'crm_contacts' GROUP BY 1 HAVING count(*) > 1)""")[0][0] > 0


def test_email_export_is_atomic_consented_and_has_a_manifest(demo):
    folder = demo.home / "exports" / "email_audience"
    data = (folder / "email_audience.csv").read_bytes()
    manifest = json.loads((folder / "email_audience.manifest.json").read_text())
    rows = list(csv.DictReader(data.decode().splitlines()))
    assert manifest["rows"] == len(rows) > 0
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["run_id"] == demo.second.run_id
    assert manifest["consent_purpose"] == "email_marketing"
    assert set(manifest["gate_results"].values()) == {"passed"}
    consented = {c for (c,) in demo.sql("SELECT customer_id FROM marts.customers WHERE email_marketing_consent")}
    assert {r["customer_id"] for r in rows} <= consented
    assert not list(folder.glob(".*.tmp"))  # no half-written file left behind


def test_customer_ids_are_deterministic_on_rerun(demo):
    # the second run rebuilt every table from the same raw rows
    ids = demo.sql("SELECT count(DISTINCT customer_id) FROM marts.customers")[0][0]
    assert ids == demo.sql("SELECT count(*) FROM marts.customers")[0][0]


def test_runs_are_in_the_instance_history(demo):
    with dg.DagsterInstance.from_config(str(demo.home / "dagster")) as instance:
        run_ids = {r.run_id for r in instance.get_runs()}
    assert {demo.first.run_id, demo.second.run_id} <= run_ids
