"""A local HTTP server speaking HubSpot's CRM write endpoints, for the reverse ETL and erasure tests.

- POST /crm/v3/objects/contacts/batch/update  {"inputs": [{"id", "properties"}]}, at most 100
  inputs (upserts into `contacts`)
- POST /crm/v3/objects/contacts/gdpr-delete   {"objectId": "<id>"[, "idProperty": ...]}: 204 and
  the contact is gone (recorded in `gdpr_deleted`), 404 when there is no such contact
- GET  /crm/v3/objects/<object>                an empty page (so a CRM API pull finds nothing)

Bearer token `secret-token`. Failures on demand: `fail_next` (statuses answered to the next
requests, any path; 429 carries Retry-After: 0), `fail_path[path]` (the same, one path only),
`down` (paths answering 503 until removed).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "secret-token"
BATCH_UPDATE = "/crm/v3/objects/contacts/batch/update"
GDPR_DELETE = "/crm/v3/objects/contacts/gdpr-delete"


class FakeHubSpot:
    def __init__(self):
        self.contacts: dict[str, dict] = {}
        self.gdpr_deleted: list[str] = []
        self.gdpr_bodies: list[dict] = []
        self.calls: list[int] = []          # status answered to each POST
        self.fail_next: list[int] = []
        self.fail_path: dict[str, list[int]] = {}
        self.down: set[str] = set()
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, {"status": "error", "message": "auth"})
                return self._send(200, {"results": []})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, {"status": "error", "message": "auth"})
                with owner.lock:
                    status = owner._injected(self.path)
                    if status:
                        owner.calls.append(status)
                        headers = {"Retry-After": "0"} if status == 429 else {}
                        return self._send(status, {"status": "error", "message": "slow down"}, headers)
                    if self.path == BATCH_UPDATE:
                        if len(body["inputs"]) > 100:
                            return self._send(400, {"status": "error", "message": "too many inputs"})
                        for item in body["inputs"]:
                            owner.contacts.setdefault(item["id"], {}).update(item["properties"])
                        owner.calls.append(200)
                        return self._send(200, {"status": "COMPLETE", "results": [{"id": i["id"]} for i in body["inputs"]]})
                    if self.path == GDPR_DELETE:
                        owner.gdpr_bodies.append(body)
                        if body.get("idProperty") not in (None, "hs_object_id") or body["objectId"] not in owner.contacts:
                            owner.calls.append(404)
                            return self._send(404, {"status": "error", "message": "resource not found"})
                        del owner.contacts[body["objectId"]]
                        owner.gdpr_deleted.append(body["objectId"])
                        owner.calls.append(204)
                        return self._send(204)
                return self._send(404, {"status": "error", "message": "not found"})

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

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # a free port
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _injected(self, path: str) -> int | None:
        if path in self.down:
            return 503
        if self.fail_path.get(path):
            return self.fail_path[path].pop(0)
        if self.fail_next:
            return self.fail_next.pop(0)
        return None

    def close(self):
        self.server.shutdown()
        self.server.server_close()
