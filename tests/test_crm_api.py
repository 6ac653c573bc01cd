"""CRM extraction over a HubSpot-style API, against a local HTTP server speaking its format:
pagination, 429 with Retry-After, transient 5xx, a pull that fails midway and resumes, and the
lastmodifieddate incremental cursor."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta

import duckdb
import pytest
from hubspot_fake import TOKEN, FakeHubSpot

from orchestration.crm_client import CrmError
from orchestration.extract.contracts import contracts
from orchestration.extract.hubspot_api import HubSpotClient, pull_all
from orchestration.extract.loader import load_source


def hubspot_objects(landing) -> dict[str, list[dict]]:
    """The generator's CRM files rendered as HubSpot API records (properties + associations)."""
    out = {}
    for obj, folder, assoc in (("contacts", "contacts", {"associatedcompanyid": "companies"}),
                               ("companies", "companies", {}),
                               ("deals", "deals", {"associated_contact_id": "contacts", "associated_company_id": "companies"})):
        path = next((landing / "crm" / folder).glob("*.csv"))
        recs = []
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                if not (row["hs_object_id"] or "").isdigit():
                    continue  # planted malformed ids: not something an API would return
                props = {k: v for k, v in row.items() if k not in assoc}
                if obj == "deals":
                    props["hs_lastmodifieddate"] = props.pop("lastmodifieddate")
                associations = {target: {"results": [{"id": row[col], "type": f"{obj}_to_{target}"}]}
                                for col, target in assoc.items() if row.get(col)}
                recs.append({"id": row["hs_object_id"], "properties": props, "associations": associations,
                             "createdAt": row["createdate"], "updatedAt": row["lastmodifieddate"]})
        out[obj] = recs
    return out


@pytest.fixture
def server(tmp_path):
    from orchestration.demo.generator import generate

    src = tmp_path / "source_system"
    generate(src, people=250, seed=9)
    api = FakeHubSpot(hubspot_objects(src))
    yield api, api.url
    api.close()


def load_crm(landing, warehouse):
    with duckdb.connect(str(warehouse)) as con:
        for name in ("crm_companies", "crm_contacts", "crm_deals"):
            load_source(con, contracts()[name], landing)
        return {n: con.execute(f"SELECT count(*), count(DISTINCT hs_object_id) FROM raw.{n}").fetchone()
                for n in ("crm_companies", "crm_contacts", "crm_deals")}


def test_full_pull_with_rate_limits_and_errors_then_midway_failure_resumes(server, tmp_path):
    api, url = server
    landing, state, wh = tmp_path / "landing", tmp_path / "state" / "crm_api.json", tmp_path / "wh.duckdb"
    api.rate_limit_every, api.error_every = 7, 11
    api.fail_after_pages = ("contacts", 2)
    client = HubSpotClient(url, TOKEN, page_size=40, backoff_s=0.01)
    with pytest.raises(CrmError, match=r"HTTP 50[03] after 7 attempt"):
        pull_all(client, landing, state)
    saved = json.loads(state.read_text())
    assert saved["contacts"]["after"] and saved["contacts"]["page"] == 2  # resume point on disk
    assert saved["companies"]["watermark"]  # companies completed before the failure

    api.fail_after_pages = None
    results = {r.object: r for r in pull_all(client, landing, state)}
    assert client.retries > 0  # 429s and 503s were retried
    assert results["companies"].mode == "incremental" and results["companies"].records == 0
    counts = load_crm(landing, wh)
    for obj, table in (("companies", "crm_companies"), ("contacts", "crm_contacts"), ("deals", "crm_deals")):
        total, distinct = counts[table]
        assert total == distinct, f"{table}: duplicates after resume"
        with duckdb.connect(str(wh), read_only=True) as con:
            quarantined = con.execute("SELECT count(*) FROM quarantine.rejected_rows WHERE source = ?", [table]).fetchone()[0]
        assert total + quarantined == len(api.objects[obj]), table

    # the same pull again fetches nothing new and loads nothing twice
    again = {r.object: r for r in pull_all(client, landing, state)}
    assert all(r.records == 0 for r in again.values())
    assert load_crm(landing, wh) == counts


def test_incremental_pull_fetches_only_modified_records(server, tmp_path):
    api, url = server
    landing, state, wh = tmp_path / "landing", tmp_path / "state" / "crm_api.json", tmp_path / "wh.duckdb"
    client = HubSpotClient(url, TOKEN, page_size=100)
    pull_all(client, landing, state)
    before = load_crm(landing, wh)["crm_contacts"][0]
    watermark = json.loads(state.read_text())["contacts"]["watermark"]
    # modified a second after the watermark (not in the future: the contract refuses that)
    modified = (datetime.fromisoformat(watermark.replace("Z", "+00:00")) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    for rec in api.objects["contacts"][:5]:
        rec["properties"]["jobtitle"] = "Chief Data Officer"
        rec["properties"]["lastmodifieddate"] = modified
    results = {r.object: r for r in pull_all(client, landing, state)}
    assert results["contacts"].mode == "incremental" and results["contacts"].records == 5
    assert load_crm(landing, wh)["crm_contacts"][0] == before + 5
    with duckdb.connect(str(wh), read_only=True) as con:
        titles = con.execute("SELECT count(*) FROM raw.crm_contacts WHERE jobtitle = 'Chief Data Officer'").fetchone()[0]
    assert titles == 5


def test_bad_token_is_a_clear_error(server, tmp_path):
    _, url = server
    with pytest.raises(CrmError, match="HTTP 401"):
        pull_all(HubSpotClient(url, "wrong"), tmp_path / "landing", tmp_path / "state.json")
