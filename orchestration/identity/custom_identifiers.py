"""Your own identifiers: extra identifier columns a source declares in orchestration/sources.yml (a
national id, a loyalty or customer number), joined into the identity graph like emails and phones.

    sources:
      crm_contacts:
        columns: [..., national_id, loyalty_number]
        identity_identifiers: {national_id: national_id, loyalty: loyalty_number}   # type: column

Each declared column becomes identifiers '<type>:<value>' of the source's records (value trimmed,
upper case, spaces, dots and dashes removed) in int_identity_record_identifiers, with every guardrail
of the other identifiers: junk values (seed identity_blocklist, per type), more than
identity_max_records_per_identifier records of one source (shared), more than
identity_max_emails_per_identifier distinct emails, or records whose names conflict. No dbt model to
write: the dbt model int_identity_custom_identifiers reads the declarations.

Declared identifiers are supported on the sources whose identity record is a raw row's own id
(crm_contacts: hs_object_id, email_members: member_id). The declarations come from
settings.SOURCES_FILE, or from the file named by CDW_SOURCES_FILE (tests).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

# source -> SQL of its identity record id over its raw table (as staging derives it)
RECORD_IDS = {
    "crm_contacts": "cast(try_cast(hs_object_id as bigint) as varchar)",
    "email_members": "trim(member_id)",
}
BUILT_IN_TYPES = {"email", "phone", "user"}
_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class CustomIdentifierError(ValueError):
    """A declaration in sources.yml is wrong (reported when identity runs, naming the entry)."""


def sources_file() -> Path:
    from orchestration.settings import SOURCES_FILE

    return Path(os.environ.get("CDW_SOURCES_FILE") or SOURCES_FILE)


def declarations(path: Path | None = None) -> list[tuple[str, str, str]]:
    """(source, identifier type, column) of every declared identifier, checked."""
    data = yaml.safe_load((path or sources_file()).read_text()) or {}
    out = []
    for source, spec in (data.get("sources") or {}).items():
        declared = (spec or {}).get("identity_identifiers") or {}
        if not declared:
            continue
        if source not in RECORD_IDS:
            raise CustomIdentifierError(f"sources.yml: {source}.identity_identifiers: supported on "
                                        f"{', '.join(RECORD_IDS)} only")
        for kind, column in declared.items():
            if not _TYPE.match(str(kind)) or kind in BUILT_IN_TYPES:
                raise CustomIdentifierError(f"sources.yml: {source}.identity_identifiers: {kind!r} is not a valid "
                                            f"identifier type (lower case letters, digits, _; not {sorted(BUILT_IN_TYPES)})")
            if column not in (spec.get("columns") or []):
                raise CustomIdentifierError(f"sources.yml: {source}.identity_identifiers.{kind}: {column!r} is not a column")
            out.append((source, str(kind), str(column)))
    return out


def identifiers_sql(declared: list[tuple[str, str, str]], raw_relation: dict[str, str]) -> str | None:
    """SQL of (source, source_record_id, record_key, identifier_type, identifier_value): each record's
    latest value of each declared column (`raw_relation`: source -> its raw table). None: none declared."""
    parts = []
    for source, kind, column in declared:
        col = '"' + column.replace('"', '""') + '"'
        value = f"nullif(upper(regexp_replace(trim(cast({col} as varchar)), '[\\s.\\-]', '', 'g')), '')"
        parts.append(f"""
            select '{source}' as source, record_id as source_record_id, '{source}:' || record_id as record_key,
                   '{kind}' as identifier_type, arg_max(value, _loaded_at) as identifier_value
            from (select {RECORD_IDS[source]} as record_id, {value} as value, _loaded_at from {raw_relation[source]})
            where record_id is not null
            group by record_id
            having arg_max(value, _loaded_at) is not null""")
    return " union all ".join(parts) if parts else None
