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
- HTTP 429 waits for Retry-After; 5xx and connection errors back off exponentially.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

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


class CrmApiError(RuntimeError):
    pass


@dataclass
class PullResult:
    object: str
    mode: str
    pages: int = 0
    records: int = 0
    files: list[str] = field(default_factory=list)
    watermark: str | None = None


class HubSpotClient:
    def __init__(self, base_url: str, token: str, page_size: int = 100, max_retries: int = 6,
                 backoff_s: float = 0.5, timeout_s: float = 30.0, sleep=time.sleep):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.page_size = page_size
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.sleep = sleep
        self.requests = 0
        self.retries = 0

    def _request(self, method: str, path: str, query: dict | None = None, body: dict | None = None) -> dict:
        url = f"{self.base_url}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(self.max_retries + 1):
            self.requests += 1
            req = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                retriable = exc.code == 429 or exc.code >= 500
                if not retriable or attempt == self.max_retries:
                    detail = exc.read()[:300].decode(errors="replace")
                    raise CrmApiError(f"{method} {path}: HTTP {exc.code} after {attempt + 1} attempt(s): {detail}") from None
                wait = self._retry_after(exc) if exc.code == 429 else self.backoff_s * 2 ** attempt
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt == self.max_retries:
                    raise CrmApiError(f"{method} {path}: {exc} after {attempt + 1} attempt(s)") from None
                wait = self.backoff_s * 2 ** attempt
            self.retries += 1
            self.sleep(wait)
        raise CrmApiError(f"{method} {path}: retries exhausted")  # pragma: no cover

    def _retry_after(self, exc: urllib.error.HTTPError) -> float:
        try:
            return max(0.0, float(exc.headers.get("Retry-After", "1")))
        except ValueError:
            return 1.0

    def list_page(self, obj: str, properties: list[str], associations: list[str], after: str | None) -> dict:
        query = {"limit": self.page_size, "properties": ",".join(properties), "archived": "false"}
        if associations:
            query["associations"] = ",".join(associations)
        if after:
            query["after"] = after
        return self._request("GET", f"/crm/v3/objects/{obj}", query=query)

    def search_page(self, obj: str, properties: list[str], modified_prop: str, since: str, after: str | None) -> dict:
        body = {
            "filterGroups": [{"filters": [{"propertyName": modified_prop, "operator": "GT", "value": since}]}],
            "sorts": [{"propertyName": modified_prop, "direction": "ASCENDING"}],
            "properties": properties,
            "limit": self.page_size,
        }
        if after:
            body["after"] = after
        return self._request("POST", f"/crm/v3/objects/{obj}/search", body=body)


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
