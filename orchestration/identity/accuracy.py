"""Measured accuracy of identity resolution: pairwise precision / recall / F1 against the demo
generator's ground truth (landing/_truth/), match rate and cluster sizes.

Pairwise counts come from the contingency table of (predicted cluster, true entity) over the
records present in both (records that loaded; malformed rows are in the truth but not the
warehouse): true positives = sum C(n_cell, 2), predicted pairs = sum C(n_pred, 2), true
pairs = sum C(n_true, 2). No pair is enumerated, so this is linear in records.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def _pairs(counts: pd.Series) -> int:
    c = counts.astype("int64")
    return int((c * (c - 1) // 2).sum())


def pairwise(predicted: pd.Series, truth: pd.Series) -> dict:
    """predicted / truth: cluster labels of the same records (aligned)."""
    df = pd.DataFrame({"p": predicted.values, "t": truth.values})
    tp = _pairs(df.groupby(["p", "t"]).size())
    pred_pairs = _pairs(df.groupby("p").size())
    true_pairs = _pairs(df.groupby("t").size())
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"records": len(df), "true_pairs": true_pairs, "predicted_pairs": pred_pairs, "true_positive_pairs": tp,
            "precision": precision, "recall": recall, "f1": f1}


def measure(con, truth_dir: Path | None) -> tuple[list[dict], pd.DataFrame]:
    """Rows for marts.identity_accuracy (people, accounts) and marts.identity_cluster_sizes."""
    records = con.execute(
        "select source, source_record_id, customer_id from intermediate.int_identity_components").df()
    n_records, n_customers = len(records), records["customer_id"].nunique()
    sizes = records.groupby("customer_id").size()
    hist = sizes.value_counts().sort_index()
    cluster_sizes = pd.DataFrame({"cluster_size": hist.index.astype("int64"), "customers": hist.values.astype("int64")})
    rows = []
    people = {"entity": "people", "records": n_records, "clusters": n_customers,
              "match_rate": float((records["customer_id"].map(sizes) > 1).mean()) if n_records else 0.0,
              "largest_cluster": int(sizes.max()) if n_records else 0,
              "truth_records": None, "true_pairs": None, "predicted_pairs": None, "true_positive_pairs": None,
              "precision": None, "recall": None, "f1": None}
    truth_people = Path(truth_dir or "") / "people.csv" if truth_dir else None
    if truth_people is not None and truth_people.exists():
        truth = pd.read_csv(truth_people, dtype=str)
        joined = records.merge(truth, on=["source", "source_record_id"], how="inner")
        if len(joined):
            m = pairwise(joined["customer_id"], joined["person_id"])
            people.update({"truth_records": m["records"], **{k: m[k] for k in
                           ("true_pairs", "predicted_pairs", "true_positive_pairs", "precision", "recall", "f1")}})
    rows.append(people)

    accounts = con.execute(
        "select cast(company_id as varchar) as source_record_id, account_id from intermediate.int_identity_account_clusters").df()
    acc_sizes = accounts.groupby("account_id").size()
    acc = {"entity": "accounts", "records": len(accounts), "clusters": int(accounts["account_id"].nunique()),
           "match_rate": float((accounts["account_id"].map(acc_sizes) > 1).mean()) if len(accounts) else 0.0,
           "largest_cluster": int(acc_sizes.max()) if len(accounts) else 0,
           "truth_records": None, "true_pairs": None, "predicted_pairs": None, "true_positive_pairs": None,
           "precision": None, "recall": None, "f1": None}
    truth_companies = Path(truth_dir or "") / "companies.csv" if truth_dir else None
    if truth_companies is not None and truth_companies.exists():
        truth = pd.read_csv(truth_companies, dtype=str)
        id_col = [c for c in truth.columns if c not in ("source", "company_id")][0]
        joined = accounts.merge(truth.rename(columns={id_col: "source_record_id"}), on="source_record_id")
        if len(joined):
            m = pairwise(joined["account_id"], joined["company_id"])
            acc.update({"truth_records": m["records"], **{k: m[k] for k in
                        ("true_pairs", "predicted_pairs", "true_positive_pairs", "precision", "recall", "f1")}})
    rows.append(acc)
    return rows, cluster_sizes


def record(con, truth_dir: Path | None, run_id: str) -> tuple[list[dict], pd.DataFrame]:
    """Measure and append to marts.identity_accuracy and marts.identity_cluster_sizes."""
    rows, cluster_sizes = measure(con, truth_dir)
    con.execute("""create table if not exists marts.identity_accuracy (
        run_id varchar, measured_at timestamp, entity varchar, records bigint, clusters bigint,
        match_rate double, largest_cluster bigint, truth_records bigint, true_pairs bigint,
        predicted_pairs bigint, true_positive_pairs bigint, "precision" double, recall double, f1 double)""")
    con.execute("""create table if not exists marts.identity_cluster_sizes (
        run_id varchar, measured_at timestamp, cluster_size bigint, customers bigint)""")
    for r in rows:
        con.execute("insert into marts.identity_accuracy values (?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, r["entity"], r["records"], r["clusters"], r["match_rate"], r["largest_cluster"],
                     r["truth_records"], r["true_pairs"], r["predicted_pairs"], r["true_positive_pairs"],
                     r["precision"], r["recall"], r["f1"]])
    con.register("cluster_sizes_now", cluster_sizes)
    con.execute("insert into marts.identity_cluster_sizes select ?, now(), cluster_size, customers from cluster_sizes_now",
                [run_id])
    con.unregister("cluster_sizes_now")
    return rows, cluster_sizes
