"""Connected components of the identity graph (scipy), and the customer-id derivation rule."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

CUSTOMER_ID_PREFIX = "cus_"


def derive_customer_id(anchor_record_key: str) -> str:
    """customer_id of a new component whose smallest record_key is `anchor_record_key`."""
    return CUSTOMER_ID_PREFIX + hashlib.md5(anchor_record_key.encode("utf-8")).hexdigest()[:16]


def component_labels(record_keys: pd.Series, edge_record_keys: pd.Series, edge_identifiers: pd.Series,
                     pair_left: pd.Series | None = None, pair_right: pd.Series | None = None) -> np.ndarray:
    """Component label of each record (positions of `record_keys`).

    Edges are record -> identifier node (deterministic graph) and, optionally, record <-> record
    pairs (probabilistic matches)."""
    n_records = len(record_keys)
    if n_records == 0:
        return np.zeros(0, dtype=np.int32)
    record_index = pd.Index(record_keys)
    edge_rows = record_index.get_indexer(edge_record_keys)
    if (edge_rows < 0).any():
        raise ValueError("int_identity_edges references records missing from int_identity_records")
    identifier_codes, identifiers = pd.factorize(edge_identifiers, sort=False)
    rows, cols = [edge_rows], [n_records + identifier_codes]
    if pair_left is not None and len(pair_left):
        left, right = record_index.get_indexer(pair_left), record_index.get_indexer(pair_right)
        if (left < 0).any() or (right < 0).any():
            raise ValueError("match pairs reference records missing from int_identity_records")
        rows.append(left)
        cols.append(right)
    n_nodes = n_records + len(identifiers)
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(r), dtype=np.int8), (r, c)), shape=(n_nodes, n_nodes))
    _, labels = connected_components(graph, directed=False)
    return labels[:n_records]
