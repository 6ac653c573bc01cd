"""Exports: activation downstream of the blocking quality gate, one asset per destination.

Every file export is written atomically with a manifest (rows, sha256, run id, gate results,
consent purpose), is reproducible (same warehouse -> byte-identical data file: rows sorted,
no timestamps in the data) and is logged in the governance audit log. Only people whose
consent for the destination's purpose holds are exported (marts.email_audience /
marts.ad_audience filter by the consent ledger); erased people are gone from the marts.
"""


import dagster as dg

from orchestration import settings, warehouse
from orchestration.crm_client import URL_ENV as CRM_URL_ENV
from orchestration.crm_client import CrmClient, CrmError
from orchestration.defs.exports.crm import crm_writeback_state, load_state, write_back
from orchestration.defs.quality.checks import behind_the_whole_gate
from orchestration.files import write_export
from orchestration.governance import audit
from orchestration.governance.erasure import tombstoned_contacts
from orchestration.governance.hashing import hashed

EMAIL_AUDIENCE_COLUMNS = ["customer_id", "email", "first_name", "last_name", "country"]

CUSTOMERS = dg.AssetKey(["marts", "customers"])
EMAIL_AUDIENCE = dg.AssetKey(["marts", "email_audience"])
AD_AUDIENCE = dg.AssetKey(["marts", "ad_audience"])
CONSENT_LEDGER = dg.AssetKey(["marts", "consent_ledger"])


def _gate_results(context: dg.AssetExecutionContext) -> dict:
    """The checks evaluated in this run on every table this export waited for (GX suites and dbt tests)."""
    table_keys = {dep.asset_key for dep in context.assets_def.specs_by_key[context.asset_key].deps}
    records = context.instance.get_records_for_run(
        run_id=context.run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=100_000
    ).records
    results = {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.asset_key in table_keys:
            status = evaluation.metadata.get("status")  # a GX gate whose sources were never delivered
            skipped = status is not None and status.value == "skipped"
            results[evaluation.asset_check_key.to_user_string()] = (
                "skipped" if skipped else "passed" if evaluation.passed else "failed")
    return dict(sorted(results.items()))


# The sources that can grant each consent purpose (dbt: int_consent_events): an audience of a
# purpose none of them was delivered for is empty by construction, and its manifest says so.
CONSENT_SOURCES = {"email_marketing": ("email_members", "web_events"), "ads": ("web_events",),
                   "analytics": ("web_events",)}


def empty_reason(con, purpose: str) -> str:
    """Why an audience of `purpose` has nobody in it (for its manifest; no person's data)."""
    from data_quality.runner import delivered_sources

    granting = CONSENT_SOURCES[purpose]
    if not set(granting) & delivered_sources(con):
        return (f"not delivered: {', '.join(granting)} - the sources that can grant {purpose} consent; "
                "nobody holds it until one of them is delivered")
    return f"no customer holds {purpose} consent with a usable identifier"


def _export(context, name: str, header: list[str], rows: list, destination: str, purpose: str,
            why_empty: str | None = None) -> dg.MaterializeResult:
    folder = settings.exports_dir() / name
    manifest = write_export(folder, name, header, rows, {
        "destination": destination,
        "consent_purpose": purpose,
        "run_id": context.run.run_id,
        "gate_results": _gate_results(context),
        **({"empty_reason": why_empty} if not rows and why_empty else {}),
    })
    if not rows and why_empty:
        context.log.warning(f"{name} is empty: {why_empty}")
    audit.record("data_export", target=name, rows=manifest["rows"], run_id=context.run.run_id,
                 destination=destination, consent_purpose=purpose, sha256=manifest["sha256"])
    return dg.MaterializeResult(metadata={
        "dagster/row_count": manifest["rows"],
        "path": str(folder / f"{name}.csv"),
        "sha256": manifest["sha256"],
        "consent_purpose": purpose,
        **({"empty_reason": why_empty} if not rows and why_empty else {}),
    })


@dg.asset(
    key=["exports", "email_audience"],
    group_name="exports",
    # Blocking checks hold back only the *direct* downstream of the checked asset, so an export
    # waits for every gated table (raw, staging, identity, marts), not only the ones it reads.
    deps=behind_the_whole_gate(EMAIL_AUDIENCE, CUSTOMERS, CONSENT_LEDGER),
    description="CSV of people with email-marketing consent and a valid email, for the email "
    "platform, with a manifest (rows, sha256, run id, gate results). Written atomically; only "
    "after the quality gate on marts.email_audience passed.",
    kinds={"csv"},
    required_resource_keys={"warehouse"},  # runs take turns (orchestration/warehouse.py)
)
def email_audience_export(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    with warehouse.connect(read_only=True) as con:
        rows = con.execute(
            f"SELECT {', '.join(EMAIL_AUDIENCE_COLUMNS)} FROM marts.email_audience ORDER BY customer_id"
        ).fetchall()
        why_empty = None if rows else empty_reason(con, "email_marketing")
    return _export(context, "email_audience", EMAIL_AUDIENCE_COLUMNS, rows, "email_platform", "email_marketing",
                   why_empty)


def ad_audience_rows(con, platform: str) -> tuple[list[str], list[tuple]]:
    """Hashed identifiers of the people with ads consent, normalized by `platform`'s rules.
    Sorted by the hashes, so the same warehouse gives the same bytes."""
    people = con.execute("SELECT email, phone, country FROM marts.ad_audience").fetchall()
    if platform == "google_customer_match":
        # Customer Match upload file: hashed Email / Phone, Country in clear (ISO2)
        header = ["Email", "Phone", "Country"]
        rows = [(hashed(platform, "email", e) or "", hashed(platform, "phone", p, c) or "", c or "") for e, p, c in people]
    else:
        # Meta customer list: hashed email / phone (country not sent)
        header = ["email", "phone"]
        rows = [(hashed(platform, "email", e) or "", hashed(platform, "phone", p, c) or "") for e, p, c in people]
    return header, sorted(r for r in rows if r[0] or r[1])


def build_ad_audience_export(platform: str, title: str) -> dg.AssetsDefinition:
    @dg.asset(
        key_prefix=["exports"],
        name=platform,
        group_name="exports",
        deps=behind_the_whole_gate(AD_AUDIENCE, CUSTOMERS, CONSENT_LEDGER),
        description=f"{title} audience: SHA-256 of the email and phone of every person whose `ads` "
        f"consent holds, normalized by {title}'s documented rules (orchestration/governance/hashing.py); "
        "atomic CSV with a manifest; only after the quality gate passed.",
        kinds={"csv"},
        required_resource_keys={"warehouse"},
    )
    def _ad_export(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        with warehouse.connect(read_only=True) as con:
            header, rows = ad_audience_rows(con, platform)
            why_empty = None if rows else empty_reason(con, "ads")
        return _export(context, platform, header, rows, platform, "ads", why_empty)

    return _ad_export


google_customer_match_export = build_ad_audience_export("google_customer_match", "Google Customer Match")
meta_custom_audience_export = build_ad_audience_export("meta_custom_audience", "Meta custom audiences")


# --- CRM write-back -----------------------------------------------------------------------

# Lead score, lifecycle stage and segments are profiling (GDPR art. 4(4)): the write-back follows
# the ledger's `analytics` purpose - the one that covers profiling and measurement of a person
# (marts.crm_contact_writeback decides it; this names it in the audit log and the metadata).
CRM_WRITEBACK_PURPOSE = "analytics"
CRM_WRITEBACK = dg.AssetKey(["marts", "crm_contact_writeback"])


def crm_updates(con) -> tuple[dict[str, dict], set[str]]:
    """(CRM contact id -> the properties to write back, for the contacts whose person holds
    CRM_WRITEBACK_PURPOSE consent; the ids of the CRM contacts whose person does not), read from
    the mart marts.crm_contact_writeback (its columns are a dbt contract)."""
    rows = con.execute("""
        SELECT crm_contact_id, customer_id, CAST(lead_score AS VARCHAR), lifecycle_stage, segments,
               has_profiling_consent
        FROM marts.crm_contact_writeback
        ORDER BY 1""").fetchall()
    updates = {
        contact_id: {"cdw_customer_id": cid, "cdw_lead_score": score or "", "cdw_lifecycle_stage": stage or "",
                     "cdw_segments": segs or ""}
        for contact_id, cid, score, stage, segs, consents in rows if consents
    }
    return updates, {contact_id for contact_id, *_, consents in rows if not consents}


@dg.asset(
    key=["exports", "crm_writeback"],
    group_name="exports",
    deps=behind_the_whole_gate(CRM_WRITEBACK),
    description="Reverse ETL: lead score, lifecycle stage and segments of the CRM contacts whose person "
    f"holds `{CRM_WRITEBACK_PURPOSE}` consent (profiling) pushed to the CRM over its batch update API "
    "(HubSpot shape), only contacts whose values changed since the last send; the CDP's properties on a "
    "contact whose consent was withdrawn or who was erased are emptied once; 429/5xx retried. The CRM of "
    "CDW_CRM_API_URL / CDW_CRM_API_TOKEN; without a URL it records 'not configured' and sends nothing.",
    kinds={"hubspot"},
    required_resource_keys={"warehouse"},
)
def crm_writeback(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    client = CrmClient.from_env()
    if client is None:
        context.log.info(f"CRM write-back not configured ({CRM_URL_ENV} unset): nothing sent")
        return dg.MaterializeResult(metadata={"status": "not configured", "sent": 0})
    with warehouse.connect(read_only=True) as con:
        updates, withheld = crm_updates(con)
    state_path = crm_writeback_state()
    # erased people are gone from the marts: their contacts written before are found by keyed hash
    erased = tombstoned_contacts(set(load_state(state_path)) - updates.keys())
    try:
        result = write_back(client, updates, state_path, clear=withheld | erased)
    except CrmError as exc:
        raise dg.Failure(f"CRM write-back failed: {exc}") from None
    audit.record("data_export", target="crm_writeback", rows=result["sent"], run_id=context.run.run_id,
                 destination="crm", consent_purpose=CRM_WRITEBACK_PURPOSE, cleared=result["cleared"],
                 withheld_without_consent=len(withheld))
    return dg.MaterializeResult(metadata={"status": "sent", **result, "withheld_without_consent": len(withheld),
                                          "consent_purpose": CRM_WRITEBACK_PURPOSE, "dagster/row_count": result["sent"]})


export_assets = [email_audience_export, google_customer_match_export, meta_custom_audience_export, crm_writeback]
