"""The connected-components step of identity resolution (a Dagster asset, orchestration/identity/components.py), tested directly."""

from __future__ import annotations

import hashlib

import pandas as pd

from orchestration.identity import components
from orchestration.identity.graph import label_components


def test_customer_id_is_md5_prefix_of_anchor_record():
    assert components.derive_customer_id("crm_contacts:42") == "cus_" + hashlib.md5(b"crm_contacts:42").hexdigest()[:16]


def test_records_sharing_identifiers_transitively_are_one_component():
    records = pd.Series(["crm_contacts:1", "email_members:a", "web_visitors:x", "crm_contacts:2"])
    edges = pd.DataFrame(
        [("crm_contacts:1", "email:a@x.io"), ("email_members:a", "email:a@x.io"),
         ("email_members:a", "phone:+14155552671"), ("web_visitors:x", "phone:+14155552671")],
        columns=["record_key", "identifier_node"],
    )
    labels = components.component_labels(records, edges["record_key"], edges["identifier_node"])
    assert labels[0] == labels[1] == labels[2]
    assert labels[3] != labels[0]


def test_no_records_no_components():
    empty = pd.Series([], dtype=str)
    assert len(components.component_labels(empty, empty, empty)) == 0


def test_probabilistic_pairs_join_components_too():
    records = pd.Series(["crm_contacts:1", "crm_contacts:2", "crm_contacts:3"])
    no_edges = pd.Series([], dtype=str)
    labels = components.component_labels(records, no_edges, no_edges,
                                         pd.Series(["crm_contacts:1"]), pd.Series(["crm_contacts:3"]))
    assert labels[0] == labels[2] != labels[1]


def _sql_labels(records: list[str], edges: list[tuple[str, str]], pairs: list[tuple[str, str]] | None = None) -> dict:
    """label_components, the DuckDB path the identity assets use, on hand-made relations."""
    import duckdb

    with duckdb.connect() as con:
        con.register("r", pd.DataFrame({"record_key": records}))
        con.register("e", pd.DataFrame(edges, columns=["record_key", "identifier_node"], dtype=str))
        con.register("p", pd.DataFrame(pairs or [], columns=["record_key_left", "record_key_right"], dtype=str))
        label_components(con, "r", "e", "p" if pairs is not None else None, into="labels")
        return dict(con.execute("select record_key, component from labels").fetchall())


def test_label_components_in_duckdb_partitions_records_like_the_pandas_path():
    records = ["c:1", "m:a", "w:x", "c:2", "c:3", "c:4"]
    edges = [("c:1", "email:a"), ("m:a", "email:a"), ("m:a", "phone:1"), ("w:x", "phone:1"), ("c:4", "user:9")]
    labels = _sql_labels(records, edges, [("c:2", "c:3")])
    assert labels["c:1"] == labels["m:a"] == labels["w:x"]
    assert labels["c:2"] == labels["c:3"] != labels["c:1"]
    assert len({labels["c:1"], labels["c:2"], labels["c:4"]}) == 3
    assert _sql_labels([], []) == {}


def test_label_components_refuses_edges_of_unknown_records():
    import pytest

    with pytest.raises(ValueError, match="missing from int_identity_records"):
        _sql_labels(["c:1"], [("c:9", "email:a")])
    with pytest.raises(ValueError, match="missing from int_identity_records"):
        _sql_labels(["c:1"], [], [("c:1", "c:9")])
