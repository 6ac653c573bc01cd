"""Identifiers a source declares in orchestration/sources.yml (`identity_identifiers`: a national id, a
loyalty number...): one row per record and declared identifier, its latest value, normalized
(orchestration/identity/custom_identifiers.py). int_identity_record_identifiers applies the guardrails."""

import pyarrow as pa

from orchestration.identity.custom_identifiers import declarations, identifiers_sql


def model(dbt, session):
    dbt.config(materialized="table")
    # both raw tables a declaration may read, named statically so dbt draws the lineage
    raw = {"crm_contacts": dbt.source("raw", "crm_contacts"), "email_members": dbt.source("raw", "email_members")}
    declared = declarations()
    sql = identifiers_sql(declared, {name: f"({rel.sql_query()})"
                                     for name, rel in raw.items() if name in {d[0] for d in declared}})
    if sql is None:
        return pa.table({c: pa.array([], type=pa.string()) for c in
                         ("source", "source_record_id", "record_key", "identifier_type", "identifier_value")})
    return session.sql(sql).to_arrow_table()
