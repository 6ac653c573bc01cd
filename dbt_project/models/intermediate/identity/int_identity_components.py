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
from orchestration.identity.graph import CUSTOMER_ID_PREFIX, component_labels, derive_customer_id  # noqa: F401


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

    records = dbt.ref("int_identity_records").project("source, source_record_id, record_key").df()
    edges = dbt.ref("int_identity_edges").project("record_key, identifier_type, identifier_node").df()
    matches = (dbt.ref("int_identity_match_pairs")
               .filter("is_match").project("record_key_left, record_key_right, match_probability").df())

    records = records.astype({"source": str, "source_record_id": str, "record_key": str})
    records["component"] = component_labels(
        records["record_key"], edges["record_key"].astype(str), edges["identifier_node"].astype(str),
        matches["record_key_left"].astype(str), matches["record_key_right"].astype(str))
    by_component = records.groupby("component")["record_key"]
    records["anchor_record_key"] = by_component.transform("min")
    records["component_size"] = by_component.transform("size").astype("int64")

    records, _ = registry.assign(session, records, lambda merged: merge_reasons(records, edges, matches, merged))
    return records[
        ["source", "source_record_id", "record_key", "customer_id", "anchor_record_key", "component_size"]
    ].sort_values("record_key", ignore_index=True)
