"""Where governance state lives and how it is configured (all under $CDW_HOME, outside the
warehouse file, so rebuilding the warehouse from scratch keeps it).

  $CDW_HOME/governance/tombstones.jsonl     erasure ledger: keyed hashes only, never identifiers
  $CDW_HOME/governance/audit.jsonl          audit log: erasures, access exports, data exports
  $CDW_HOME/governance/erasure_verified.json what the erasure scan found clean (row counts, hashes)
  $CDW_HOME/governance/access/<id>.json     right-of-access exports
  $CDW_HOME/governance/pseudonymization.key secret salt of the analyst snapshot's masked PII
  $CDW_HOME/analytics.duckdb                the analyst snapshot (`cdw sql` reads it)
  $CDW_HOME/landing/requests/               erasure request files (sensor)

Environment:
  CDW_ERASURE_KEY                 HMAC secret of the tombstone ledger (erasure refuses without it)
  CDW_RETENTION_<SOURCE>_DAYS     override the retention of a source (e.g. CDW_RETENTION_WEB_EVENTS_DAYS)
  CDW_SNAPSHOT_PII                "masked" (default) or "full": PII in the analyst snapshot
  CDW_SNAPSHOT_SCHEMAS            comma-separated schemas the snapshot publishes (default marts)
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from orchestration import settings
from orchestration.extract.contracts import contracts

CONSENT_PURPOSES = ("email_marketing", "ads", "analytics")


def governance_dir() -> Path:
    d = settings.cdw_home() / "governance"
    d.mkdir(parents=True, exist_ok=True)
    return d


def tombstones_path() -> Path:
    return governance_dir() / "tombstones.jsonl"


def verified_path() -> Path:
    """What the erasure scan found clean, per table (erasure.scan_database): counts and hashes only."""
    return governance_dir() / "erasure_verified.json"


def audit_path() -> Path:
    return governance_dir() / "audit.jsonl"


def access_dir() -> Path:
    return governance_dir() / "access"


def requests_dir() -> Path:
    return settings.landing_dir() / "requests"


def snapshot_path() -> Path:
    return settings.cdw_home() / "analytics.duckdb"


def snapshot_schemas() -> list[str]:
    return [s.strip() for s in os.environ.get("CDW_SNAPSHOT_SCHEMAS", "marts").split(",") if s.strip()]


def snapshot_pii_mode() -> str:
    mode = os.environ.get("CDW_SNAPSHOT_PII", "masked").strip().lower()
    if mode not in ("masked", "full"):
        raise ValueError(f"CDW_SNAPSHOT_PII must be 'masked' or 'full', not {mode!r}")
    return mode


def retention_days(source: str) -> int | None:
    """Days raw rows of `source` are kept (by the contract's `retention.by` time, counted back from
    the source's newest row): `retention:` in sources.yml, overridden by CDW_RETENTION_<SOURCE>_DAYS.
    None: the source has no retention (no event time to measure age by)."""
    contract = contracts().get(source)
    if contract is None or contract.retention_by is None:
        return None
    env = os.environ.get(f"CDW_RETENTION_{source.upper()}_DAYS")
    if env is not None and env.strip():
        try:
            days = int(env)
        except ValueError:
            raise ValueError(f"CDW_RETENTION_{source.upper()}_DAYS must be a whole number of days, not {env!r}") from None
        if days < 1:
            raise ValueError(f"CDW_RETENTION_{source.upper()}_DAYS must be at least 1, not {days}")
        return days
    return contract.retention_days


def pseudonymization_key() -> str:
    """A random secret kept beside the warehouse: masked values stay joinable across snapshots
    but cannot be reversed by hashing a list of known emails."""
    path = governance_dir() / "pseudonymization.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()
