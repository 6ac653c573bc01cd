"""The source contracts of `orchestration/sources.yml`, as typed objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from orchestration.settings import SOURCES_FILE

VALID_TYPES = {"date", "timestamp", "number", "integer", "boolean"}
# Kinds of personal identifiers a source may carry (`identifiers:`): what an erasure deletes by
IDENTIFIER_KINDS = {"email", "phone", "crm_contact", "email_member", "web_anonymous", "web_user"}


class ContractError(ValueError):
    """sources.yml itself is wrong (a developer error, reported at load time)."""


@dataclass(frozen=True)
class SourceContract:
    name: str
    system: str
    description: str
    format: str
    path: str
    columns: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    required_any: tuple[tuple[str, ...], ...] = ()
    types: dict[str, str] = field(default_factory=dict)
    allowed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    past_only: tuple[str, ...] = ()  # date/timestamp fields that cannot lie in the future
    partitioned: str | None = None  # "daily": loaded per delivery day (orchestration/partitions.py)
    fresh_within_hours: float = 26  # a delivery is expected this often: Dagster warns after it, fails after twice
    # personal identifiers per kind: csv column names, or JSON paths ($.traits.email) for jsonl
    identifiers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    phone_region: str | None = None  # csv column with the country national phone numbers belong to
    # `retention: {days: N, by: field}`: rows whose `by` time is more than N days older than the
    # source's newest are purged on load; raw keeps that time typed in `_event_at` (loader.py)
    retention_days: int | None = None
    retention_by: str | None = None

    @property
    def table(self) -> str:
        return f"raw.{self.name}"


def _parse(name: str, spec: dict) -> SourceContract:
    fmt = spec.get("format")
    if fmt not in ("csv", "jsonl"):
        raise ContractError(f"sources.yml: {name}: format must be csv or jsonl, got {fmt!r}")
    for key in ("path", "system"):
        if not spec.get(key):
            raise ContractError(f"sources.yml: {name}: '{key}' is required")
    columns = tuple(spec.get("columns") or ())
    if fmt == "csv" and not columns:
        raise ContractError(f"sources.yml: {name}: csv sources must list their columns")
    types = dict(spec.get("types") or {})
    for col, typ in types.items():
        if typ not in VALID_TYPES:
            raise ContractError(f"sources.yml: {name}.{col}: unknown type {typ!r}")
    past_only = tuple(spec.get("past_only") or ())
    for col in past_only:
        if types.get(col) not in ("date", "timestamp"):
            raise ContractError(f"sources.yml: {name}.{col}: past_only needs a date or timestamp type")
    fields = set(columns) | set(spec.get("required") or ()) | set(types) | set(spec.get("allowed") or {})
    if fmt == "csv":
        unknown = fields - set(columns)
        if unknown:
            raise ContractError(f"sources.yml: {name}: {sorted(unknown)} not in columns")
    identifiers = {k: tuple(v if isinstance(v, list) else [v]) for k, v in (spec.get("identifiers") or {}).items()}
    for kind, fields_ in identifiers.items():
        if kind not in IDENTIFIER_KINDS:
            raise ContractError(f"sources.yml: {name}.identifiers: unknown kind {kind!r} "
                                f"(one of {sorted(IDENTIFIER_KINDS)})")
        for f in fields_:
            if fmt == "csv" and f not in columns:
                raise ContractError(f"sources.yml: {name}.identifiers.{kind}: {f!r} is not a column")
            if fmt == "jsonl" and not str(f).startswith("$."):
                raise ContractError(f"sources.yml: {name}.identifiers.{kind}: {f!r} is not a JSON path ($.field)")
    phone_region = spec.get("phone_region")
    if phone_region is not None and phone_region not in columns:
        raise ContractError(f"sources.yml: {name}.phone_region: {phone_region!r} is not a column")
    partitioned = spec.get("partitioned")
    if partitioned not in (None, "daily"):
        raise ContractError(f"sources.yml: {name}: partitioned must be 'daily' or absent, got {partitioned!r}")
    retention = spec.get("retention") or {}
    if retention:
        by = retention.get("by")
        if types.get(by) not in ("date", "timestamp"):
            raise ContractError(f"sources.yml: {name}.retention.by: {by!r} must be a field typed date or timestamp")
        if not isinstance(retention.get("days"), int) or retention["days"] < 1:
            raise ContractError(f"sources.yml: {name}.retention.days must be a positive number of days")
    return SourceContract(
        name=name,
        system=spec["system"],
        description=" ".join(str(spec.get("description", "")).split()),
        format=fmt,
        path=spec["path"],
        columns=columns,
        required=tuple(spec.get("required") or ()),
        required_any=tuple(tuple(g) for g in (spec.get("required_any") or ())),
        types=types,
        allowed={k: tuple(str(x) for x in v) for k, v in (spec.get("allowed") or {}).items()},
        past_only=past_only,
        partitioned=partitioned,
        fresh_within_hours=float(spec.get("fresh_within_hours", 26)),
        identifiers=identifiers,
        phone_region=phone_region,
        retention_days=retention.get("days"),
        retention_by=retention.get("by"),
    )


def load_contracts(path: Path = SOURCES_FILE) -> dict[str, SourceContract]:
    data = yaml.safe_load(path.read_text()) or {}
    return {name: _parse(name, spec) for name, spec in (data.get("sources") or {}).items()}


@lru_cache(maxsize=1)
def contracts() -> dict[str, SourceContract]:
    return load_contracts()
