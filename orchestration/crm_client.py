"""The CRM over its REST API (HubSpot's v3 shape): one HTTP client and one place for its settings.

Three parts of the pipeline talk to the CRM, all through `CrmClient`:
- the extract pull (orchestration/extract/hubspot_api.py: list and search pages),
- the reverse ETL write-back (orchestration/defs/exports/crm.py: batch updates),
- the erasure at the source (orchestration/governance/crm_erasure.py: GDPR deletes).

Settings: `CDW_CRM_API_URL` turns CRM API mode on (unset: the file drop is used, and the
write-back and the GDPR delete report "not configured"); `CDW_CRM_API_TOKEN` is the private-app
token, sent as a Bearer token.

Retries: HTTP 429 waits for its Retry-After (seconds, at most `max_wait_s`; an unreadable one backs
off like a 5xx); 5xx answers, timeouts and connection errors back off exponentially
(`backoff_s` * 2^n); any other status fails at once. At most `max_attempts` attempts. A `CrmError`
names the method, path, status and attempts - never the CRM's response body, which may echo a
person's data.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

URL_ENV, TOKEN_ENV = "CDW_CRM_API_URL", "CDW_CRM_API_TOKEN"


def configured() -> bool:
    """CRM API mode is on (read at call time)."""
    return bool(os.environ.get(URL_ENV, "").strip())


class CrmError(RuntimeError):
    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status  # HTTP status; None when the CRM could not be reached


@dataclass
class CrmClient:
    base_url: str
    token: str
    max_attempts: int = 7
    backoff_s: float = 0.5
    max_wait_s: float = 60.0
    timeout_s: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    requests: int = field(default=0, init=False)
    retries: int = field(default=0, init=False)

    @classmethod
    def from_env(cls, **options) -> CrmClient | None:
        """The client of the configured CRM, or None when CRM API mode is off."""
        if not configured():
            return None
        return cls(os.environ[URL_ENV].strip(), os.environ.get(TOKEN_ENV, ""), **options)

    def get(self, path: str, query: dict | None = None) -> dict:
        return self.request("GET", path, query=query)

    def post(self, path: str, body: dict) -> dict:
        return self.request("POST", path, body=body)

    def request(self, method: str, path: str, query: dict | None = None, body: dict | None = None) -> dict:
        url = self.base_url.rstrip("/") + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(1, self.max_attempts + 1):
            self.requests += 1
            try:
                with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=headers),
                                            timeout=self.timeout_s) as resp:
                    payload = resp.read()
                    return json.loads(payload) if payload else {}
            except urllib.error.HTTPError as exc:
                if not (exc.code == 429 or exc.code >= 500) or attempt == self.max_attempts:
                    raise CrmError(f"{method} {path}: HTTP {exc.code} after {attempt} attempt(s)", exc.code) from None
                wait = self._retry_after(exc, attempt) if exc.code == 429 else self._backoff(attempt)
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                if attempt == self.max_attempts:
                    reason = getattr(exc, "reason", exc)
                    raise CrmError(f"{method} {path}: CRM unreachable ({type(reason).__name__}) after {attempt} "
                                   "attempt(s)") from None
                wait = self._backoff(attempt)
            self.retries += 1
            self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_s * 2 ** (attempt - 1), self.max_wait_s)

    def _retry_after(self, exc: urllib.error.HTTPError, attempt: int) -> float:
        try:
            return min(max(0.0, float(exc.headers.get("Retry-After"))), self.max_wait_s)
        except (TypeError, ValueError):
            return self._backoff(attempt)
