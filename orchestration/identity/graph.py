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
    return _labels(n_records, n_records + len(identifiers), np.concatenate(rows), np.concatenate(cols))


def _labels(n_records: int, n_nodes: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n_nodes, n_nodes))
    _, labels = connected_components(graph, directed=False)
    return labels[:n_records]


def label_components(con, records: str, edges: str, pairs: str | None = None, into: str = "identity_labels") -> None:
    """Temp table `into` (record_key, component): `component_labels` on relations of a DuckDB
    connection - records (record_key), edges (record_key, identifier_node), pairs
    (record_key_left, record_key_right). DuckDB numbers the keys and hands scipy integer arrays
    only: at a million people, moving millions of key strings through pandas cost ~10 s a call."""
    con.execute(f"""create or replace temp table cc_records as
        select record_key, cast(row_number() over () - 1 as bigint) as node from (select record_key from {records})""")
    n_records = con.execute("select count(*) from cc_records").fetchone()[0]
    con.execute(f"""create or replace temp table cc_identifiers as
        select identifier_node, cast(row_number() over () - 1 + {n_records} as bigint) as node
        from (select distinct identifier_node from {edges})""")
    n_nodes = n_records + con.execute("select count(*) from cc_identifiers").fetchone()[0]
    links = [f"""select rec.node as a, ident.node as b from {edges} as e
                 left join cc_records as rec on e.record_key = rec.record_key
                 inner join cc_identifiers as ident on e.identifier_node = ident.identifier_node"""]
    if pairs:
        links.append(f"""select l.node, r.node from {pairs} as p
                         left join cc_records as l on p.record_key_left = l.record_key
                         left join cc_records as r on p.record_key_right = r.record_key""")
    # materialized first: fetching the join's streamed result straight into numpy stalled DuckDB at scale L
    con.execute("create or replace temp table cc_links as " + " union all ".join(links))
    arrays = con.execute("select a, b from cc_links").fetchnumpy()
    con.execute("drop table cc_links")
    a, b = arrays["a"], arrays["b"]
    if np.ma.is_masked(a) or np.ma.is_masked(b):
        raise ValueError("identity edges or match pairs reference records missing from int_identity_records")
    labels = _labels(n_records, n_nodes, np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)) \
        if n_records else np.zeros(0, dtype=np.int32)
    con.register("cc_labels", pd.DataFrame({"node": np.arange(n_records, dtype=np.int64), "component": labels}))
    con.execute(f"""create or replace temp table {into} as
        select cc_records.record_key, cc_labels.component
        from cc_records inner join cc_labels on cc_records.node = cc_labels.node""")
    con.unregister("cc_labels")
    con.execute("drop table cc_records")
    con.execute("drop table cc_identifiers")
