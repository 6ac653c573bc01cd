"""Gate thresholds: one place, each overridable by an environment variable (dev / CI / prod).

Read at call time, so a test or an operator can change them without reloading code.
"""

from __future__ import annotations

from orchestration.settings import env_number


def _float(name: str, default: float) -> float:
    return env_number(name, default)


def max_quarantine_rate() -> float:
    """A delivery (file) with a larger share of quarantined rows fails its source's gate."""
    return _float("CDW_GATE_MAX_QUARANTINE_RATE", 0.05)


def max_field_issue_rate() -> float:
    """A delivery with a larger share of rows carrying a field issue (a field loaded as NULL) warns."""
    return _float("CDW_GATE_MAX_FIELD_ISSUE_RATE", 0.05)


def volume_tolerance() -> float:
    """Allowed relative change of a table's row count against the last run where its gate passed."""
    return _float("CDW_GATE_VOLUME_TOLERANCE", 0.5)


def freshness_hours() -> float:
    """A source whose last delivery is older than this is stale (a warning, not a block)."""
    return _float("CDW_GATE_FRESHNESS_HOURS", 48)


def max_records_per_customer() -> int:
    """More source records than this on one customer is an identity-resolution failure."""
    return int(_float("CDW_GATE_MAX_RECORDS_PER_CUSTOMER", 50))
