"""Identity resolution measures itself on every run: the `identity_accuracy` asset.

Downstream of the identity components and marts.customers, it appends one row per entity
(people, accounts) to marts.identity_accuracy - pairwise precision / recall / F1 against the
demo generator's ground truth when landing/_truth/ exists (records that loaded only), match
rate, cluster count, largest cluster - and the cluster-size histogram to
marts.identity_cluster_sizes, and shows them as asset metadata, with the latest probabilistic
matching run's report (whether training had enough evidence, candidate pairs per blocking rule,
links to the Splink model JSON and charts under $CDW_HOME/reports/identity/). No PII: counts,
ratios and model parameters only.
"""

import dagster as dg

from orchestration import settings, warehouse
from orchestration.identity.accuracy import record
from orchestration.identity.matching import latest_report

COMPONENTS = dg.AssetKey(["intermediate", "int_identity_components"])
ACCOUNT_CLUSTERS = dg.AssetKey(["intermediate", "int_identity_account_clusters"])
CUSTOMERS = dg.AssetKey(["marts", "customers"])


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def matching_metadata(report: dict | None) -> dict:
    """The latest probabilistic matching run (its summary.json) as asset metadata: whether training had
    enough evidence, the prior, the candidate pairs per blocking rule, links to the model and charts.
    Counts and parameters only, no person's data."""
    if report is None:
        return {"matching_evidence": "no matching run yet"}
    rules = report.get("candidate_pairs_per_rule") or {}
    table = "\n".join(["| blocking rule | candidate pairs |", "|---|---:|"] + [f"| {r} | {n} |" for r, n in rules.items()])
    metadata = {
        "matching_evidence": report["evidence"],
        "matching_records": report.get("records", 0),
        "matching_prior": float(report.get("prior") or 0.0),
        "matching_candidate_pairs": report.get("candidate_pairs", 0),
        "matching_matched_pairs": report.get("matched_pairs", 0),
        "matching_pairs_per_blocking_rule": dg.MetadataValue.md(table),
        "matching_report": dg.MetadataValue.path(report["report_dir"]),
    }
    if report.get("model"):
        metadata["matching_model_json"] = dg.MetadataValue.path(report["model"])
    for name, path in (report.get("charts") or {}).items():
        if not path.startswith("not drawn"):
            metadata[f"matching_chart_{name}"] = dg.MetadataValue.path(path)
    return metadata


@dg.asset(
    key=dg.AssetKey(["marts", "identity_accuracy"]),
    group_name="identity",
    deps=[COMPONENTS, ACCOUNT_CLUSTERS, CUSTOMERS],
    description="Match accuracy of identity resolution, measured every run (pairwise precision / recall / F1 "
                "against the demo ground truth when present, match rate, cluster sizes); appended to "
                "marts.identity_accuracy and marts.identity_cluster_sizes.",
    required_resource_keys={"warehouse"},  # runs take turns (orchestration/warehouse.py)
)
def identity_accuracy(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    truth = settings.truth_dir()
    with warehouse.connect() as con:
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
    metadata.update(matching_metadata(latest_report()))
    if not str(metadata["matching_evidence"]).startswith("sufficient"):
        context.log.warning(f"probabilistic matching merged nothing: {metadata['matching_evidence']}")
    context.log.info("identity accuracy: people P=%s R=%s F1=%s; accounts P=%s R=%s",
                     _fmt(people["precision"]), _fmt(people["recall"]), _fmt(people["f1"]),
                     _fmt(accounts["precision"]), _fmt(accounts["recall"]))
    return dg.MaterializeResult(metadata=metadata)
