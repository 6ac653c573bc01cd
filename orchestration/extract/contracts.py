"""The source contracts of `orchestration/sources.yml`, as typed objects."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import yaml

from orchestration.settings import SOURCES_FILE

VALID_TYPES = {"date", "timestamp", "number", "integer", "boolean", "id", "email", "phone"}
# how a date/timestamp field is written in the files; never guessed: a field says its format
DATE_FORMATS = {"ISO": None, "YYYYMMDD": "%Y%m%d", "DD/MM/YYYY": "%d/%m/%Y", "MM/DD/YYYY": "%m/%d/%Y",
                "DD.MM.YYYY": "%d.%m.%Y"}
# plausibility bounds when a field declares none (`bounds:` in sources.yml overrides per field)
DEFAULT_BOUNDS = {"date": ("1800-01-01", "2100-12-31"), "timestamp": ("1970-01-01", "2100-12-31"),
                  # DECIMAL(18, 2), what staging casts amounts to: |x| < 10^16
                  "number": (-9999999999999999.99, 9999999999999999.99),
                  "integer": (-9223372036854775808, 9223372036854775807)}
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
    # bring-your-own-data: file header -> contract field (case-insensitive), from the source's
    # `mapping:` and/or a preset (`presets:` in sources.yml); unmapped headers match by name
    mapping: dict[str, str] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)  # date/timestamp field -> DATE_FORMATS key
    bounds: dict[str, tuple] = field(default_factory=dict)  # field -> (min, max), either may be None
    patterns: dict[str, str] = field(default_factory=dict)  # id/text field -> regular expression it must match
    pii: tuple[str, ...] = ()  # fields whose values field issues mask (identifier columns are masked anyway)
    done_marker: str | None = None  # e.g. ".done": a file is loaded only once <file>.done exists
    preset: str | None = None

    def bounds_of(self, name: str) -> tuple:
        """(min, max) plausibility bounds of a typed field: its own, else the type's default."""
        default = DEFAULT_BOUNDS.get(self.types.get(name), (None, None))
        own = self.bounds.get(name, (None, None))
        return (own[0] if own[0] is not None else default[0], own[1] if own[1] is not None else default[1])

    @property
    def masked_fields(self) -> set[str]:
        """Fields holding personal data: a field issue keeps only the shape of their value."""
        ident = {f for fields_ in self.identifiers.values() for f in fields_}
        typed_pii = {f for f, t in self.types.items() if t in ("email", "phone")}
        return ident | typed_pii | set(self.pii)

    def header_map(self, header: list[str]) -> dict[str, str]:
        """contract field -> the file header it is read from (mapping first, then the field's own name)."""
        by_lower = {h.strip().lower(): h for h in header}
        out: dict[str, str] = {}
        for src, dst in self.mapping.items():
            if src.lower() in by_lower and dst not in out:
                out[dst] = by_lower[src.lower()]
        for c in self.columns:
            if c not in out and c.lower() in by_lower and by_lower[c.lower()] not in out.values():
                out[c] = by_lower[c.lower()]
        return out

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
    formats = {k: str(v) for k, v in (spec.get("date_formats") or {}).items()}
    bounds = {k: (v.get("min"), v.get("max")) for k, v in (spec.get("bounds") or {}).items()}
    patterns = {k: str(v) for k, v in (spec.get("patterns") or {}).items()}
    mapping = {str(k): str(v) for k, v in (spec.get("mapping") or {}).items()}
    _check_byod(name, fmt, columns, types, formats, bounds, patterns, mapping, spec)
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
        mapping=mapping,
        formats=formats,
        bounds=bounds,
        patterns=patterns,
        pii=tuple(spec.get("pii") or ()),
        done_marker=spec.get("done_marker"),
    )


def _check_byod(name, fmt, columns, types, formats, bounds, patterns, mapping, spec) -> None:
    """The bring-your-own-data keys name real fields, known formats and usable bounds."""
    for col, f in formats.items():
        if types.get(col) not in ("date", "timestamp"):
            raise ContractError(f"sources.yml: {name}.date_formats.{col}: not a date or timestamp field")
        if f not in DATE_FORMATS:
            raise ContractError(f"sources.yml: {name}.date_formats.{col}: {f!r} is not one of {sorted(DATE_FORMATS)}")
    for col, (_lo, _hi) in bounds.items():  # each a (low, high) pair
        if types.get(col) not in DEFAULT_BOUNDS:
            raise ContractError(f"sources.yml: {name}.bounds.{col}: bounds need a date, timestamp, number or integer field")
    for col, pattern in patterns.items():
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ContractError(f"sources.yml: {name}.patterns.{col}: {exc}") from None
    if fmt == "csv":
        for src, dst in mapping.items():
            if dst not in columns:
                raise ContractError(f"sources.yml: {name}.mapping: {src!r} maps to {dst!r}, not a column")
        for col in spec.get("pii") or ():
            if col not in columns:
                raise ContractError(f"sources.yml: {name}.pii: {col!r} is not a column")


def with_preset(contract: SourceContract, preset: str, path: Path = SOURCES_FILE) -> SourceContract:
    """The contract as a preset export shape reads it (`presets: <preset>: <source>:` in sources.yml):
    its header mapping and date formats on top of the source's own."""
    presets = (yaml.safe_load(path.read_text()) or {}).get("presets") or {}
    spec = (presets.get(preset) or {}).get(contract.name)
    if spec is None:
        known = sorted(p for p, by_source in presets.items() if contract.name in (by_source or {}))
        raise ContractError(f"no preset {preset!r} for source {contract.name} (known: {known})")
    merged = {"mapping": {**contract.mapping, **(spec.get("mapping") or {})},
              "date_formats": {**contract.formats, **(spec.get("date_formats") or {})},
              "patterns": {**contract.patterns, **(spec.get("patterns") or {})}}
    _check_byod(contract.name, contract.format, contract.columns, contract.types, merged["date_formats"],
                contract.bounds, merged["patterns"], merged["mapping"], {})
    return replace(contract, mapping=merged["mapping"], formats=merged["date_formats"],
                   patterns=merged["patterns"], preset=preset)


def preset_names(path: Path = SOURCES_FILE) -> dict[str, list[str]]:
    """preset -> the sources it has a mapping for."""
    presets = (yaml.safe_load(path.read_text()) or {}).get("presets") or {}
    return {p: sorted(by_source or {}) for p, by_source in presets.items()}


def load_contracts(path: Path = SOURCES_FILE) -> dict[str, SourceContract]:
    data = yaml.safe_load(path.read_text()) or {}
    out = {name: _parse(name, spec) for name, spec in (data.get("sources") or {}).items()}
    for name, spec in (data.get("sources") or {}).items():
        if spec.get("preset"):  # a source that always receives a preset's export shape
            out[name] = with_preset(out[name], spec["preset"], path)
    return out


@lru_cache(maxsize=1)
def contracts() -> dict[str, SourceContract]:
    return load_contracts()
