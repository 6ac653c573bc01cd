"""CRM extraction over a HubSpot-style REST API (v3 object endpoints), landing pages as files.

The API pull writes what it fetches as CSV files into the same landing folders the file drop
uses (landing/crm/contacts/, companies/, deals/), one file per page, each written atomically; the
contract loader then loads them like any other delivery. So the API mode inherits the contract
checks, quarantine, lineage (`_file` names the object, window and page) and idempotency
(a page fetched twice has the same content and is not loaded twice).

- Full pull: GET /crm/v3/objects/<object>?limit=&after=&properties=&associations=
- Incremental: POST /crm/v3/objects/<object>/search, filter lastmodifieddate > the watermark
  of the last complete pull, sorted ascending, `after` paging.
- `after` cursors are saved after every page in $CDW_HOME/state/crm_api.json, so a pull that
  fails midway resumes from its last page on the next run; the watermark moves only when a
  pull completes.
- Retries (429 Retry-After, 5xx, connection errors) are the CRM client's (orchestration/crm_client.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from orchestration.crm_client import CrmClient
from orchestration.files import atomic_write_bytes, csv_bytes

# contract columns (orchestration/sources.yml) <- HubSpot properties / associations
OBJECTS = {
    "contacts": {
        "folder": "crm/contacts",
        "columns": ["hs_object_id", "firstname", "lastname", "email", "phone", "mobilephone", "company",
                    "jobtitle", "address", "city", "state", "zip", "country", "date_of_birth",
                    "lifecyclestage", "hs_lead_status", "hs_email_optout", "associatedcompanyid",
                    "createdate", "lastmodifieddate"],
        "associations": {"companies": "associatedcompanyid"},
    },
    "companies": {
        "folder": "crm/companies",
        "columns": ["hs_object_id", "name", "domain", "industry", "numberofemployees", "annualrevenue",
                    "city", "state", "country", "createdate", "lastmodifieddate"],
        "associations": {},
    },
    "deals": {
        "folder": "crm/deals",
        "columns": ["hs_object_id", "dealname", "pipeline", "dealstage", "amount", "closedate", "createdate",
                    "lastmodifieddate", "associated_contact_id", "associated_company_id"],
        "associations": {"contacts": "associated_contact_id", "companies": "associated_company_id"},
        # HubSpot names the modification property of deals hs_lastmodifieddate
        "modified_property": "hs_lastmodifieddate",
    },
}


@dataclass
class PullResult:
    object: str
    mode: str
    pages: int = 0
    records: int = 0
    files: list[str] = field(default_factory=list)
    watermark: str | None = None


@dataclass
class HubSpotClient(CrmClient):
    """The CRM client with the v3 object endpoints the pull pages through."""

    page_size: int = 100

    def list_page(self, obj: str, properties: list[str], associations: list[str], after: str | None) -> dict:
        query = {"limit": self.page_size, "properties": ",".join(properties), "archived": "false"}
        if associations:
            query["associations"] = ",".join(associations)
        if after:
            query["after"] = after
        return self.get(f"/crm/v3/objects/{obj}", query=query)

    def search_page(self, obj: str, properties: list[str], modified_prop: str, since: str, after: str | None) -> dict:
        body = {
            "filterGroups": [{"filters": [{"propertyName": modified_prop, "operator": "GT", "value": since}]}],
            "sorts": [{"propertyName": modified_prop, "direction": "ASCENDING"}],
            "properties": properties,
            "limit": self.page_size,
        }
        if after:
            body["after"] = after
        return self.post(f"/crm/v3/objects/{obj}/search", body=body)


def _rows(obj: str, results: list[dict]) -> list[list[str]]:
    spec = OBJECTS[obj]
    rows = []
    for rec in results:
        props = dict(rec.get("properties") or {})
        props["hs_object_id"] = props.get("hs_object_id") or rec.get("id")
        if spec.get("modified_property") and not props.get("lastmodifieddate"):
            props["lastmodifieddate"] = props.get(spec["modified_property"]) or rec.get("updatedAt")
        props.setdefault("createdate", rec.get("createdAt"))
        for assoc, column in spec["associations"].items():
            linked = ((rec.get("associations") or {}).get(assoc) or {}).get("results") or []
            if linked and not props.get(column):
                props[column] = linked[0].get("id")
        rows.append(["" if props.get(c) is None else str(props.get(c)) for c in spec["columns"]])
    return rows


class CursorStore:
    """Per-object pull state, kept outside the warehouse so a rebuild does not re-pull history."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> dict:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def save(self, state: dict) -> None:
        atomic_write_bytes(self.path, (json.dumps(state, indent=2, sort_keys=True) + "\n").encode())


def pull_object(client: HubSpotClient, obj: str, landing: Path, store: CursorStore) -> PullResult:
    spec = OBJECTS[obj]
    state = store.load()
    st = state.get(obj, {})
    since = st.get("watermark")
    mode = "incremental" if since else "full"
    after = st.get("after")
    page_no = st.get("page", 0)
    window = (since or "all").replace(":", "").replace("-", "").replace(".", "")
    result = PullResult(obj, mode)
    modified_prop = spec.get("modified_property", "lastmodifieddate")
    max_seen = st.get("pending_watermark") or since  # a resumed pull keeps what it had seen
    properties = [c for c in spec["columns"] if c not in spec["associations"].values()]
    if modified_prop not in properties:
        properties.append(modified_prop)
    while True:
        if mode == "full":
            page = client.list_page(obj, properties, list(spec["associations"]), after)
        else:
            page = client.search_page(obj, properties, modified_prop, since, after)
        results = page.get("results") or []
        rows = _rows(obj, results)
        if rows:
            name = f"api_{obj}_{window}_p{page_no:06d}.csv"
            atomic_write_bytes(landing / spec["folder"] / name, csv_bytes(spec["columns"], rows))
            result.files.append(name)
            result.records += len(rows)
            mod_idx = spec["columns"].index("lastmodifieddate")
            page_max = max((r[mod_idx] for r in rows if r[mod_idx]), default=None)
            if page_max and (max_seen is None or page_max > max_seen):
                max_seen = page_max
        result.pages += 1
        page_no += 1
        after = ((page.get("paging") or {}).get("next") or {}).get("after")
        # resume point: the page after the last one safely on disk
        state[obj] = {**st, "after": after, "page": page_no, "pending_watermark": max_seen}
        store.save(state)
        if not after:
            break
    state[obj] = {"watermark": max_seen, "after": None, "page": 0}
    store.save(state)
    result.watermark = max_seen
    return result


def pull_all(client: HubSpotClient, landing: Path, state_file: Path) -> list[PullResult]:
    store = CursorStore(state_file)
    return [pull_object(client, obj, landing, store) for obj in ("companies", "contacts", "deals")]
