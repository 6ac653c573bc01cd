"""Probabilistic matches: record pairs that share no usable identifier, scored by a
Fellegi-Sunter model with blocking (orchestration/identity/matching.py explains it).

One row per blocked candidate pair whose records sit in different deterministic components
(records of shared devices are never candidates),
with each comparison's level and weight, the total match weight and probability, and
is_match (probability >= var identity_match_threshold). Matches become record-record edges
in int_identity_components; the rest explain why two look-alikes stayed apart.
"""

from orchestration.identity.graph import label_components, temp_view
from orchestration.identity.matching import block, matchable_records_sql, prepare_records, score, train


def model(dbt, session):
    dbt.config(materialized="table")
    threshold = float(dbt.config.get("match_threshold"))
    max_block = int(dbt.config.get("max_block_size"))
    sample = int(dbt.config.get("training_pairs"))

    # connection-local views of the inputs (not views left behind in the warehouse)
    temp_view(session, "match_source_records", dbt.ref("int_identity_records"))
    temp_view(session, "match_record_identifiers", dbt.ref("int_identity_record_identifiers"))
    temp_view(session, "match_edges", dbt.ref("int_identity_edges"))
    label_components(session, "match_source_records", "match_edges", into="match_labels")
    prepare_records(session, matchable_records_sql("match_source_records", "match_record_identifiers"), "match_labels")
    block(session, max_block)
    weights, prior = train(session, sample)
    score(session, weights, prior, threshold)  # temp table match_scored: the pairs stay in DuckDB
    return session.sql(f"select *, cast({prior!r} as double) as prior from match_scored")
