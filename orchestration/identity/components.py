"""People = connected components of the identity graph, with stable customer_ids (the
`int_identity_components` step; steps.DuckDBIdentityEngine.components runs it on DuckDB).

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
