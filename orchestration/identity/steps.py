"""The identity steps that are not SQL, on the warehouse engine: the seam an engine plugs into.

Three steps of identity resolution are Python, not SQL: Splink's probabilistic matching, connected
components with the stable-id registry, and account clustering. They run as Dagster assets between the dbt selections
(orchestration/defs/identity/assets.py) - not as dbt Python models, which dbt-spark does not run on
open-source Spark - and read and write the warehouse through one small interface,
`IdentityEngine`: DuckDB's implementation is here (`DuckDBIdentityEngine`, on a connection to the
warehouse); a Spark implementation (Splink's Spark backend) provides the same methods.

Each step reads the tables dbt built before it and writes one table of its own into the warehouse
under the name the dbt source `identity` declares (models/intermediate/identity/
_int_identity__sources.yml), so the models after it, the marts, `cdw explain`, erasure and the tests
read it where they always did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pandas as pd

from orchestration.identity import matching, registry
from orchestration.identity.accounts import clusters
from orchestration.identity.components import merge_reasons
from orchestration.identity.graph import label_components

# The dbt source of the tables the steps write (models/intermediate/identity/_int_identity__sources.yml),
# and the dbt selection of what reads them: the models built after the steps.
IDENTITY_SOURCE = "identity"
AFTER_IDENTITY = f"source:{IDENTITY_SOURCE}+"

# The tables the steps read (dbt models before them) and write (the dbt source `identity`), as
# schema.table of the warehouse.
RECORDS = "intermediate.int_identity_records"
RECORD_IDENTIFIERS = "intermediate.int_identity_record_identifiers"
EDGES = "intermediate.int_identity_edges"
COMPANIES = "staging.stg_crm__companies"
FREE_EMAIL_DOMAINS = "seeds.free_email_domains"

MATCH_PAIRS = "intermediate.int_identity_match_pairs"
COMPONENTS = "intermediate.int_identity_components"
ACCOUNT_CLUSTERS = "intermediate.int_identity_account_clusters"
OUTPUTS = (MATCH_PAIRS, COMPONENTS, ACCOUNT_CLUSTERS)


@dataclass(frozen=True)
class MatchParams:
    """The matching step's knobs (the vars `identity_match_*` of dbt_project.yml)."""
    threshold: float
    max_block_size: int
    prior_recall: float
    u_max_pairs: float
    em_max_pairs: float

    @classmethod
    def from_meta(cls, meta: dict) -> MatchParams:
        """From the meta dbt renders the vars into, on the source table of the matches."""
        return cls(threshold=float(meta["match_threshold"]), max_block_size=int(meta["max_block_size"]),
                   prior_recall=float(meta["prior_recall"]), u_max_pairs=float(meta["u_max_pairs"]),
                   em_max_pairs=float(meta["em_max_pairs"]))


@dataclass
class ComponentsResult:
    records: int
    customers: int
    merges: int


class IdentityEngine(Protocol):
    """What the identity steps need of a warehouse engine. Each method reads the step's inputs
    where dbt built them and writes the step's table; row counts come back for the asset's metadata."""

    def match_pairs(self, params: MatchParams) -> matching.MatchResult:
        """Train the matcher on the records to match and write MATCH_PAIRS (the scored pairs)."""

    def components(self) -> ComponentsResult:
        """Label the graph's connected components (edges + matched pairs), assign stable customer
        ids through the registry and write COMPONENTS."""

    def account_clusters(self) -> int:
        """Unify the CRM companies into accounts and write ACCOUNT_CLUSTERS."""


class DuckDBIdentityEngine:
    """The identity steps on a DuckDB connection to the warehouse. Temp tables and views only
    (connection-local): nothing but the step's own table lands in the warehouse."""

    def __init__(self, con):
        self.con = con

    def _write(self, table: str, select_sql: str) -> int:
        schema = table.split(".")[0]
        self.con.execute(f"create schema if not exists {schema}")
        self.con.execute(f"create or replace table {table} as {select_sql}")
        return self.con.execute(f"select count(*) from {table}").fetchone()[0]

    def _write_arrow(self, table: str, data) -> int:
        self.con.register("identity_step_output", data)
        try:
            return self._write(table, "select * from identity_step_output")
        finally:
            self.con.unregister("identity_step_output")

    def match_pairs(self, params: MatchParams) -> matching.MatchResult:
        label_components(self.con, RECORDS, EDGES, into="match_labels")
        records = self.con.sql(f"""
            select rec.*, cast(labels.component as varchar) as component
            from ({matching.matchable_records_sql(RECORDS, RECORD_IDENTIFIERS)}) as rec
            inner join match_labels as labels on rec.record_key = labels.record_key
            order by rec.record_key""").to_arrow_table()
        self.con.execute("drop table match_labels")
        result = matching.run(records, threshold=params.threshold, max_block_size=params.max_block_size,
                              prior_recall=params.prior_recall, u_max_pairs=params.u_max_pairs,
                              em_max_pairs=params.em_max_pairs, keep_probability=0.01)
        self._write_arrow(MATCH_PAIRS, result.pairs)
        return result

    def components(self) -> ComponentsResult:
        con = self.con
        # keys are numbered in DuckDB and scipy sees integers only (graph.label_components), the
        # registry's rules are SQL (registry.assign_relation); pandas holds only the merged components
        con.execute("create or replace temp view components_match_edges as select record_key_left, record_key_right, "
                    f"match_probability from {MATCH_PAIRS} where is_match")
        label_components(con, RECORDS, EDGES, "components_match_edges", into="components_labels")
        con.execute(f"""
            create or replace temp table components_records_labelled as
            select records.source, records.source_record_id, records.record_key, labels.component,
                   min(records.record_key) over (partition by labels.component) as anchor_record_key,
                   count(*) over (partition by labels.component) as component_size
            from {RECORDS} as records
            inner join components_labels as labels on records.record_key = labels.record_key
        """)

        def reasons(merged: list) -> dict:
            # only the components where profiles merged (few, even among a million) reach pandas
            con.register("components_merged", pd.DataFrame({"component": merged}))
            records = con.sql("""select record_key, component from components_records_labelled
                                 where component in (select component from components_merged)""").df()
            con.register("components_merged_keys", pd.DataFrame({"record_key": records["record_key"]}))
            edges = con.sql(f"""select record_key, identifier_type, identifier_node from {EDGES}
                                where record_key in (select record_key from components_merged_keys)""").df()
            matches = con.sql("""select * from components_match_edges
                                 where record_key_left in (select record_key from components_merged_keys)""").df()
            for name in ("components_merged", "components_merged_keys"):
                con.unregister(name)
            return merge_reasons(records, edges, matches, merged)

        merges = registry.assign_relation(con, "components_records_labelled", reasons)
        rows = self._write(COMPONENTS, """
            select records.source, records.source_record_id, records.record_key, assigned.customer_id,
                   records.anchor_record_key, records.component_size
            from components_records_labelled as records
            inner join registry_assigned as assigned on records.record_key = assigned.record_key
            order by records.record_key""")
        customers = con.execute(f"select count(distinct customer_id) from {COMPONENTS}").fetchone()[0]
        for name in ("components_records_labelled", "components_labels", "registry_assigned"):
            con.execute(f"drop table if exists {name}")
        con.execute("drop view components_match_edges")
        return ComponentsResult(records=rows, customers=customers, merges=len(merges))

    def account_clusters(self) -> int:
        companies = self.con.sql(f"select company_id, company_name, domain from {COMPANIES} "
                                 "where company_id is not null").df()
        free = set(self.con.sql(f"select domain from {FREE_EMAIL_DOMAINS}").df()["domain"].astype(str))
        return self._write_arrow(ACCOUNT_CLUSTERS, clusters(companies, free))


def engine_for(con) -> IdentityEngine:
    """The identity steps' engine for a warehouse connection (DuckDB: the embedded default)."""
    return DuckDBIdentityEngine(con)

