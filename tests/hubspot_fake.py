"""A local HTTP server speaking HubSpot's CRM v3 API, for every test that talks to the CRM (the
extract pull, the reverse ETL write-back, the erasure at the source).

- GET  /crm/v3/objects/<object>?limit=&after=     list pages of `objects[<object>]`, by id
- POST /crm/v3/objects/<object>/search            filter `<property> GT <value>`, sorted by it, paged
- POST /crm/v3/objects/contacts/batch/update      {"inputs": [{"id", "properties"}]}, at most 100
  inputs (upserts into `contacts`)
- POST /crm/v3/objects/contacts/gdpr-delete       {"objectId": "<id>"[, "idProperty": ...]}: 204 and
  the contact is gone (recorded in `gdpr_deleted`), 404 when there is no such contact

Bearer token `TOKEN`. Failures on demand: `fail_next` (statuses answered to the next requests,
any path; 429 carries Retry-After: 0), `fail_path[path]` (the same, one path only), `down` (paths
answering 503 until removed), `rate_limit_every` / `error_every` (every n-th request answers 429 /
503), `fail_after_pages` ((object, n): the object's pages after the n-th answer 500 until cleared).
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "secret-token"
BATCH_UPDATE = "/crm/v3/objects/contacts/batch/update"
GDPR_DELETE = "/crm/v3/objects/contacts/gdpr-delete"


class FakeHubSpot:
    def __init__(self, objects: dict[str, list[dict]] | None = None):
        self.objects = objects or {}
        self.contacts: dict[str, dict] = {}
        self.gdpr_deleted: list[str] = []
        self.gdpr_bodies: list[dict] = []
        self.calls: list[int] = []          # status answered to each write (POST other than search)
        self.requests = 0
        self.fail_next: list[int] = []
        self.fail_path: dict[str, list[int]] = {}
        self.down: set[str] = set()
        self.rate_limit_every = 0
        self.error_every = 0
        self.fail_after_pages: tuple[str, int] | None = None
        self.pages_served: dict[str, int] = {}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))  # a free port
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _injected(self, path: str, obj: str | None) -> int | None:
        """The failure to answer this request with, if any (called under the lock)."""
        self.requests += 1
        if path in self.down:
            return 503
        if self.fail_path.get(path):
            return self.fail_path[path].pop(0)
        if self.fail_next:
            return self.fail_next.pop(0)
        if self.rate_limit_every and self.requests % self.rate_limit_every == 0:
            return 429
        if self.error_every and self.requests % self.error_every == 0:
            return 503
        if self.fail_after_pages and obj == self.fail_after_pages[0] and self.pages_served.get(obj, 0) >= self.fail_after_pages[1]:
            return 500
        return None

    def _page(self, obj: str, rows: list[dict], after, limit) -> dict:
        self.pages_served[obj] = self.pages_served.get(obj, 0) + 1
        start = int(after or 0)
        body = {"results": rows[start:start + limit]}
        if start + limit < len(rows):
            body["paging"] = {"next": {"after": str(start + limit), "link": "..."}}
        return body


def _handler(api: FakeHubSpot):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            obj = url.path.rstrip("/").split("/")[-1]
            if not self._admitted(url.path, obj):
                return
            query = dict(urllib.parse.parse_qsl(url.query))
            with api.lock:
                rows = sorted(api.objects.get(obj, []), key=lambda r: int(r["id"]))
                page = api._page(obj, rows, query.get("after"), int(query.get("limit", 100)))
            return self._send(200, page)

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            parts = self.path.rstrip("/").split("/")
            obj = parts[-2] if parts[-1] == "search" else None
            if not self._admitted(self.path, obj):
                return
            with api.lock:
                if obj is not None:
                    f = body["filterGroups"][0]["filters"][0]
                    prop, since = f["propertyName"], f["value"]
                    rows = [r for r in api.objects.get(obj, []) if (r["properties"].get(prop) or "") > since]
                    rows.sort(key=lambda r: (r["properties"].get(prop), int(r["id"])))
                    return self._send(200, api._page(obj, rows, body.get("after"), int(body.get("limit", 100))))
                if self.path == BATCH_UPDATE:
                    if len(body["inputs"]) > 100:
                        return self._write(400, {"status": "error", "message": "too many inputs"})
                    for item in body["inputs"]:
                        api.contacts.setdefault(item["id"], {}).update(item["properties"])
                    return self._write(200, {"status": "COMPLETE", "results": [{"id": i["id"]} for i in body["inputs"]]})
                if self.path == GDPR_DELETE:
                    api.gdpr_bodies.append(body)
                    if body.get("idProperty") not in (None, "hs_object_id") or body["objectId"] not in api.contacts:
                        return self._write(404, {"status": "error", "message": "resource not found"})
                    del api.contacts[body["objectId"]]
                    api.gdpr_deleted.append(body["objectId"])
                    return self._write(204)
            return self._send(404, {"status": "error", "message": "not found"})

        def _admitted(self, path: str, obj: str | None) -> bool:
            """Token and injected failures: False when the request was answered with an error."""
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, {"status": "error", "message": "auth"})
                return False
            with api.lock:
                status = api._injected(path, obj)
                if status and obj is None and self.command == "POST":
                    api.calls.append(status)
            if status:
                headers = {"Retry-After": "0"} if status == 429 else {}
                self._send(status, {"status": "error", "message": "slow down"}, headers)
                return False
            return True

        def _write(self, status, payload=None):
            api.calls.append(status)
            return self._send(status, payload)

        def _send(self, status, payload=None, headers=None):
            data = json.dumps(payload).encode() if payload is not None else b""
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return Handler
