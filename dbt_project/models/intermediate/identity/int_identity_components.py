"""People = connected components of the identity graph, with stable customer_ids.

Nodes are source records (int_identity_records) and identifiers ('email:<key>', 'phone:<e164>',
'user:<id>'); edges are record -> identifier (int_identity_edges, guardrails passed) plus
record <-> record probabilistic matches (int_identity_match_pairs where is_match). A record
with no edge is a person of its own.

Labels come from scipy's connected_components; the customer_id comes from the persistent
registry (orchestration/identity/registry.py): the oldest id among the component's records
survives, a brand-new component gets 'cus_' + md5(anchor record_key)[:16], where the anchor is
its smallest record_key - so the same inputs give the same ids, run after run and after a
rebuild from scratch. Merges are logged in identity_registry.customer_merges.
"""

from __future__ import annotations

import pandas as pd

from orchestration.identity import registry
from orchestration.identity.graph import CUSTOMER_ID_PREFIX, component_labels, derive_customer_id, label_components, temp_view  # noqa: F401


def merge_reasons(records: pd.DataFrame, edges: pd.DataFrame, matches: pd.DataFrame, components: list) -> dict:
    """Component label -> how its records were joined (identifier types, probabilistic matches),
    for the given components (those where profiles merged: few, even among a million)."""
    in_scope = records[records["component"].isin(components)]
    by_record = in_scope.set_index("record_key")["component"]
    scoped = edges[edges["record_key"].isin(by_record.index)]
    kinds = (scoped.assign(component=scoped["record_key"].map(by_record))
             .groupby("component")["identifier_type"].agg(lambda s: sorted(set(s))))
    reasons: dict = {}
    for component, types in kinds.items():
        reasons[component] = "shared identifier: " + ", ".join(types)
    m = matches[matches["record_key_left"].isin(by_record.index)]
    if len(m):
        m = m.assign(component=m["record_key_left"].map(by_record))
        for component, group in m.groupby("component"):
            text = f"probabilistic match (p={group['match_probability'].min():.4f})"
            reasons[component] = (reasons[component] + "; " + text) if component in reasons else text
    return reasons


def model(dbt, session):
    dbt.config(materialized="table")

    # the work stays in DuckDB: keys are numbered there and scipy sees integers only (graph.label_components),
    # the registry's rules are SQL (registry.assign_relation); pandas holds only the merged components
    temp_view(session, "components_records", dbt.ref("int_identity_records"))
    temp_view(session, "components_edges", dbt.ref("int_identity_edges"))
    temp_view(session, "components_matches", dbt.ref("int_identity_match_pairs"))
    session.execute("create or replace temp view components_match_edges as "
                    "select record_key_left, record_key_right, match_probability from components_matches where is_match")
    label_components(session, "components_records", "components_edges", "components_match_edges", into="components_labels")
    session.execute("""
        create or replace temp table components_records_labelled as
        select records.source, records.source_record_id, records.record_key, labels.component,
               min(records.record_key) over (partition by labels.component) as anchor_record_key,
               count(*) over (partition by labels.component) as component_size
        from components_records as records
        inner join components_labels as labels on records.record_key = labels.record_key
    """)

    def reasons(merged: list) -> dict:
        # only the components where profiles merged (few, even among a million) reach pandas
        session.register("components_merged", pd.DataFrame({"component": merged}))
        records = session.sql("""select record_key, component from components_records_labelled
                                 where component in (select component from components_merged)""").df()
        keys = pd.DataFrame({"record_key": records["record_key"]})
        session.register("components_merged_keys", keys)
        edges = session.sql("""select record_key, identifier_type, identifier_node from components_edges
                               where record_key in (select record_key from components_merged_keys)""").df()
        matches = session.sql("""select * from components_match_edges
                                 where record_key_left in (select record_key from components_merged_keys)""").df()
        for name in ("components_merged", "components_merged_keys"):
            session.unregister(name)
        return merge_reasons(records, edges, matches, merged)

    registry.assign_relation(session, "components_records_labelled", reasons)
    return session.sql("""
        select records.source, records.source_record_id, records.record_key, assigned.customer_id,
               records.anchor_record_key, records.component_size
        from components_records_labelled as records
        inner join registry_assigned as assigned on records.record_key = assigned.record_key
        order by records.record_key
    """)
