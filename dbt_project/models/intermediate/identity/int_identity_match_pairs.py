"""Probabilistic matches: record pairs that share no usable identifier, scored by a
Fellegi-Sunter model with blocking (orchestration/identity/matching.py explains it).

One row per blocked candidate pair whose records sit in different deterministic components
(records of shared devices are never candidates),
with each comparison's level and weight, the total match weight and probability, and
is_match (probability >= var identity_match_threshold). Matches become record-record edges
in int_identity_components; the rest explain why two look-alikes stayed apart.
"""

import pandas as pd

from orchestration.identity.graph import component_labels
from orchestration.identity.matching import block, matchable_records_sql, prepare_records, score, train


def model(dbt, session):
    dbt.config(materialized="table")
    threshold = float(dbt.config.get("match_threshold"))
    max_block = int(dbt.config.get("max_block_size"))
    sample = int(dbt.config.get("training_pairs"))

    dbt.ref("int_identity_records").create_view("match_source_records", replace=True)
    dbt.ref("int_identity_record_identifiers").create_view("match_record_identifiers", replace=True)
    records = session.sql("select record_key from match_source_records").df()["record_key"].astype(str)
    edges = dbt.ref("int_identity_edges").project("record_key, identifier_node").df()
    labels = component_labels(records, edges["record_key"].astype(str), edges["identifier_node"].astype(str))
    prepare_records(session, matchable_records_sql("match_source_records", "match_record_identifiers"),
                    pd.DataFrame({"record_key": records, "component": labels}))
    block(session, max_block)
    weights, prior = train(session, sample)
    pairs = score(session, weights, prior, threshold)
    pairs["prior"] = prior
    return pairs
