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
write: the SQL model int_identity_custom_identifiers is generated from the declarations by the macro
`custom_identifiers` (dbt_project/macros/custom_identifiers.sql), portable SQL, so it runs on every
engine. dbt reads them from the setting CDW_IDENTITY_IDENTIFIERS (JSON, `dbt_env()`), which the
pipeline sets from sources.yml before each dbt step and `settings.export_env` for dbt started by
hand from the same shell (`python -m orchestration.identity.custom_identifiers` prints it); a change
of it re-parses that one model (dbt's partial parsing follows env_var()).

Declared identifiers are supported on the sources whose identity record is a raw row's own id
(crm_contacts: hs_object_id, email_members: member_id). The declarations come from
settings.SOURCES_FILE, or from the file named by CDW_SOURCES_FILE (tests).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import yaml

# the sources whose identity record is a raw row's own id (the macro derives it as staging does)
RECORD_IDS = {"crm_contacts": "hs_object_id", "email_members": "member_id"}
ENV = "CDW_IDENTITY_IDENTIFIERS"
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


def dbt_env(path: Path | None = None) -> str:
    """The value of CDW_IDENTITY_IDENTIFIERS for dbt: the checked declarations as JSON, or
    {"error": ...} naming the wrong entry, which the model raises when it runs (not while dbt
    parses: a typo in sources.yml fails the identity build, not the loading of the pipeline)."""
    try:
        declared = declarations(path)
    except CustomIdentifierError as exc:
        return json.dumps({"error": str(exc)})
    return json.dumps([{"source": s, "type": k, "column": c} for s, k, c in declared])


def export(path: Path | None = None) -> str:
    """Set CDW_IDENTITY_IDENTIFIERS in this process's environment (dbt inherits it); returns it."""
    os.environ[ENV] = value = dbt_env(path)
    return value


if __name__ == "__main__":  # for a dbt run by hand: export CDW_IDENTITY_IDENTIFIERS="$(python -m ...)"
    print(dbt_env())
