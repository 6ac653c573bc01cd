"""Probabilistic matches: record pairs scored by a Splink 5 model trained on this data without labels
(orchestration/identity/matching.py explains the comparisons, blocking and training).

One row per blocked candidate pair whose records sit in different deterministic components (shared
devices are never candidates) with match probability >= 0.01: each comparison's level and weight,
the prior, the match weight and probability, and is_match (probability >= var
identity_match_threshold). Matches become record-record edges in int_identity_components; the rest
explain why two look-alikes stayed apart.

Each run keeps its model (JSON), summary and charts under $CDW_HOME/reports/identity/<time>/; when
training had too little evidence nothing is matched and the summary says why (the identity asset's
metadata and `cdw run` show it).
"""

from orchestration.identity import matching
from orchestration.identity.graph import label_components, temp_view


def model(dbt, session):
    dbt.config(materialized="table")

    # connection-local views of the inputs (not views left behind in the warehouse)
    temp_view(session, "match_source_records", dbt.ref("int_identity_records"))
    temp_view(session, "match_record_identifiers", dbt.ref("int_identity_record_identifiers"))
    temp_view(session, "match_edges", dbt.ref("int_identity_edges"))
    label_components(session, "match_source_records", "match_edges", into="match_labels")
    records = session.sql(f"""
        select rec.*, cast(labels.component as varchar) as component
        from ({matching.matchable_records_sql("match_source_records", "match_record_identifiers")}) as rec
        inner join match_labels as labels on rec.record_key = labels.record_key
        order by rec.record_key""").to_arrow_table()
    result = matching.run(
        records,
        threshold=float(dbt.config.get("match_threshold")),
        max_block_size=int(dbt.config.get("max_block_size")),
        prior_recall=float(dbt.config.get("prior_recall")),
        u_max_pairs=float(dbt.config.get("u_max_pairs")),
        em_max_pairs=float(dbt.config.get("em_max_pairs")),
        keep_probability=0.01,
    )
    matching.save_report(result)
    return result.pairs
