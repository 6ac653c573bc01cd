"""Identity resolution measures itself on every run: the `identity_accuracy` asset.

Downstream of the identity components and marts.customers, it appends one row per entity
(people, accounts) to marts.identity_accuracy - pairwise precision / recall / F1 against the
demo generator's ground truth when landing/_truth/ exists (records that loaded only), match
rate, cluster count, largest cluster - and the cluster-size histogram to
marts.identity_cluster_sizes, and shows them as asset metadata. No PII: counts and ratios only.
"""

import dagster as dg
import duckdb

from orchestration import settings
from orchestration.identity.accuracy import record

COMPONENTS = dg.AssetKey(["intermediate", "int_identity_components"])
ACCOUNT_CLUSTERS = dg.AssetKey(["intermediate", "int_identity_account_clusters"])
CUSTOMERS = dg.AssetKey(["marts", "customers"])


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


@dg.asset(
    key=dg.AssetKey(["marts", "identity_accuracy"]),
    group_name="identity",
    deps=[COMPONENTS, ACCOUNT_CLUSTERS, CUSTOMERS],
    description="Match accuracy of identity resolution, measured every run (pairwise precision / recall / F1 "
                "against the demo ground truth when present, match rate, cluster sizes); appended to "
                "marts.identity_accuracy and marts.identity_cluster_sizes.",
)
def identity_accuracy(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    truth = settings.truth_dir()
    with duckdb.connect(str(settings.warehouse_path())) as con:
        rows, sizes = record(con, truth if truth.exists() else None, context.run.run_id)
    people, accounts = rows
    histogram = "\n".join(["| cluster size | customers |", "|---:|---:|"]
                          + [f"| {s} | {n} |" for s, n in zip(sizes["cluster_size"], sizes["customers"])])
    metadata = {
        "dagster/row_count": len(rows),
        "people_records": people["records"],
        "people_clusters": people["clusters"],
        "people_match_rate": people["match_rate"],
        "people_largest_cluster": people["largest_cluster"],
        "accounts_clusters": accounts["clusters"],
        "cluster_size_histogram": dg.MetadataValue.md(histogram),
        "ground_truth": "landing/_truth" if people["precision"] is not None else "none",
    }
    for entity in (people, accounts):
        if entity["precision"] is not None:
            for k in ("precision", "recall", "f1"):
                metadata[f"{entity['entity']}_{k}"] = float(entity[k])
    context.log.info("identity accuracy: people P=%s R=%s F1=%s; accounts P=%s R=%s",
                     _fmt(people["precision"]), _fmt(people["recall"]), _fmt(people["f1"]),
                     _fmt(accounts["precision"]), _fmt(accounts["recall"]))
    return dg.MaterializeResult(metadata=metadata)
