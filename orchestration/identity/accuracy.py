"""Measured accuracy of identity resolution: pairwise precision / recall / F1 against the demo
generator's ground truth (landing/_truth/), match rate and cluster sizes.

Pairwise counts come from the contingency table of (predicted cluster, true entity) over the
records present in both (records that loaded; malformed rows are in the truth but not the
warehouse): true positives = sum C(n_cell, 2), predicted pairs = sum C(n_pred, 2), true
pairs = sum C(n_true, 2). No pair is enumerated, so this is linear in records.

DuckDB does the work (millions of records at the large benchmark scale): the truth CSVs are
read with read_csv and joined in the warehouse, and only the counts and the cluster-size
histogram come back to Python.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

# All VARCHAR, like the ids in the warehouse; comma / double-quote, like pandas' defaults.
_TRUTH_CSV = """read_csv(?, all_varchar = true, header = true, delim = ',', quote = '"', escape = '"')"""
_PAIR_KEYS = ("true_pairs", "predicted_pairs", "true_positive_pairs", "precision", "recall", "f1")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _scores(records: int, true_pairs: int, pred_pairs: int, tp: int) -> dict:
    precision = tp / pred_pairs if pred_pairs else 1.0
    recall = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"records": records, "true_pairs": true_pairs, "predicted_pairs": pred_pairs, "true_positive_pairs": tp,
            "precision": precision, "recall": recall, "f1": f1}


def pairwise(predicted: pd.Series, truth: pd.Series) -> dict:
    """predicted / truth: cluster labels of the same records (aligned), scored by the SQL measure()
    runs, in an in-memory DuckDB."""
    with duckdb.connect() as con:
        con.register("labels", pd.DataFrame({"predicted": predicted.values, "truth": truth.values}))
        return _pairwise_sql(con, "select predicted, truth from labels", [])


def _pairwise_sql(con, joined_sql: str, params: list) -> dict:
    """Pairwise scores of `joined_sql` (columns predicted, truth), one pass with grouping sets.
    grouping() is 0 for the (predicted, truth) cells, 1 for predicted clusters, 2 for true
    entities, 3 for the total; null labels form no cluster (as in pandas' groupby)."""
    records, true_pairs, pred_pairs, tp = con.execute(f"""
        with joined as ({joined_sql}),
        cells as (
            select grouping(predicted, truth) as level, predicted, truth, count(*) as n
            from joined
            group by grouping sets ((predicted, truth), (predicted), (truth), ())
        )
        select
            coalesce(sum(n) filter (where level = 3), 0)::bigint,
            coalesce(sum(n * (n - 1) // 2) filter (where level = 2 and truth is not null), 0)::bigint,
            coalesce(sum(n * (n - 1) // 2) filter (where level = 1 and predicted is not null), 0)::bigint,
            coalesce(sum(n * (n - 1) // 2) filter (
                where level = 0 and predicted is not null and truth is not null), 0)::bigint
        from cells""", params).fetchone()
    return _scores(int(records), int(true_pairs), int(pred_pairs), int(tp))


def _clusters(con, table: str, cluster_col: str, entity: str) -> tuple[dict, pd.DataFrame]:
    """Record / cluster counts, match rate (share of records in a cluster of two or more), largest
    cluster, and the cluster-size histogram (cluster_size, customers) of `table`."""
    histogram = con.execute(f"""
        select cluster_size, count(*)::bigint as customers
        from (select count(*)::bigint as cluster_size from {table}
              where {cluster_col} is not null group by {cluster_col})
        group by cluster_size order by cluster_size""").df().astype("int64")
    records = int(con.execute(f"select count(*) from {table}").fetchone()[0])
    sizes, customers = histogram["cluster_size"], histogram["customers"]
    matched = int((sizes * customers)[sizes > 1].sum())
    row = {"entity": entity, "records": records, "clusters": int(customers.sum()),
           "match_rate": matched / records if records else 0.0,
           "largest_cluster": int(sizes.max()) if len(histogram) else 0,
           "truth_records": None, **dict.fromkeys(_PAIR_KEYS)}
    return row, histogram


def _truth_file(truth_dir: Path | None, name: str) -> str | None:
    path = Path(truth_dir) / name if truth_dir else None
    return str(path) if path is not None and path.exists() else None


def measure(con, truth_dir: Path | None) -> tuple[list[dict], pd.DataFrame]:
    """Rows for marts.identity_accuracy (people, accounts) and marts.identity_cluster_sizes."""
    people, cluster_sizes = _clusters(con, "intermediate.int_identity_components", "customer_id", "people")
    truth_people = _truth_file(truth_dir, "people.csv")
    if truth_people is not None:
        m = _pairwise_sql(con, f"""
            select r.customer_id as predicted, t.person_id as truth
            from intermediate.int_identity_components r
            join {_TRUTH_CSV} t on r.source = t.source and r.source_record_id = t.source_record_id""",
                          [truth_people])
        if m["records"]:
            people.update({"truth_records": m["records"], **{k: m[k] for k in _PAIR_KEYS}})

    accounts, _ = _clusters(con, "intermediate.int_identity_account_clusters", "account_id", "accounts")
    truth_companies = _truth_file(truth_dir, "companies.csv")
    if truth_companies is not None:
        header = con.execute(f"select * from {_TRUTH_CSV} limit 0", [truth_companies]).description
        # the record-id column is named by the generator's source table; it is the one that is not
        # source or company_id
        id_col = [c[0] for c in header if c[0] not in ("source", "company_id")][0]
        m = _pairwise_sql(con, f"""
            select a.account_id as predicted, t.company_id as truth
            from intermediate.int_identity_account_clusters a
            join {_TRUTH_CSV} t on cast(a.company_id as varchar) = t.{_quote(id_col)}""", [truth_companies])
        if m["records"]:
            accounts.update({"truth_records": m["records"], **{k: m[k] for k in _PAIR_KEYS}})
    return [people, accounts], cluster_sizes


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
    # the histogram is a few rows (one per cluster size): register it rather than re-aggregate
    con.register("cluster_sizes_now", cluster_sizes)
    con.execute("insert into marts.identity_cluster_sizes select ?, now(), cluster_size, customers from cluster_sizes_now",
                [run_id])
    con.unregister("cluster_sizes_now")
    return rows, cluster_sizes
