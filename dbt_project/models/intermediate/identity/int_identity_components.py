"""People = connected components of the identity graph.

Nodes are source records (int_identity_records) and identifiers ('email:<key>', 'phone:<e164>',
'user:<id>'); edges (int_identity_edges) join a record to each identifier it carries that
passed the guardrails. Two records belong to the same person when a path of shared identifiers
joins them. A record with no usable identifier is a person of its own.

The component labels come from scipy's connected_components (union-find speed on a sparse
matrix); the customer_id does not depend on them: it is derived from the component's anchor
record (the smallest record_key, "<source>:<source_record_id>"), so the same inputs give the
same ids whatever the row order. `derive_customer_id` is the one place that rule lives.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

CUSTOMER_ID_PREFIX = "cus_"


def derive_customer_id(anchor_record_key: str) -> str:
    """customer_id of the component whose smallest record_key is `anchor_record_key`."""
    return CUSTOMER_ID_PREFIX + hashlib.md5(anchor_record_key.encode("utf-8")).hexdigest()[:16]


def component_labels(record_keys: pd.Series, edge_record_keys: pd.Series, edge_identifiers: pd.Series) -> np.ndarray:
    """Component label of each record (positions of `record_keys`) in the record-identifier graph."""
    n_records = len(record_keys)
    if n_records == 0:
        return np.zeros(0, dtype=np.int32)
    record_index = pd.Index(record_keys)
    edge_rows = record_index.get_indexer(edge_record_keys)
    if (edge_rows < 0).any():
        raise ValueError("int_identity_edges references records missing from int_identity_records")
    identifier_codes, identifiers = pd.factorize(edge_identifiers, sort=False)
    n_nodes = n_records + len(identifiers)
    graph = coo_matrix(
        (np.ones(len(edge_rows), dtype=np.int8), (edge_rows, n_records + identifier_codes)),
        shape=(n_nodes, n_nodes),
    )
    _, labels = connected_components(graph, directed=False)
    return labels[:n_records]


def model(dbt, session):
    dbt.config(materialized="table")

    records = dbt.ref("int_identity_records").project("source, source_record_id, record_key").df()
    edges = dbt.ref("int_identity_edges").project("record_key, identifier_node").df()

    records = records.astype({"source": str, "source_record_id": str, "record_key": str})
    labels = component_labels(records["record_key"], edges["record_key"].astype(str), edges["identifier_node"].astype(str))

    records["component"] = labels
    by_component = records.groupby("component")["record_key"]
    records["anchor_record_key"] = by_component.transform("min")
    records["component_size"] = by_component.transform("size").astype("int64")

    anchors = records["anchor_record_key"].drop_duplicates()
    customer_ids = pd.Series([derive_customer_id(a) for a in anchors], index=anchors.values)
    records["customer_id"] = records["anchor_record_key"].map(customer_ids)

    return records[
        ["source", "source_record_id", "record_key", "customer_id", "anchor_record_key", "component_size"]
    ].sort_values("record_key", ignore_index=True)
