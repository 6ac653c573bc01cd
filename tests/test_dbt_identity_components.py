"""The connected-components step of identity resolution (dbt Python model), tested directly."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import pandas as pd

MODEL = Path(__file__).resolve().parent.parent / "dbt_project/models/intermediate/identity/int_identity_components.py"
spec = importlib.util.spec_from_file_location("int_identity_components", MODEL)
components = importlib.util.module_from_spec(spec)
spec.loader.exec_module(components)


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
