"""What a table holds, in two numbers: its row count and the sum of its rows' hashes (DuckDB's
`hash` of the whole row). Equal digests, the same rows, in practice: a row added, deleted or
changed in place changes them. Cheap next to anything that reads the values: one pass, no sort.
Used to skip work whose input did not change (orchestration/defs/dbt/unchanged.py: the dbt build;
orchestration/governance/scan.py: the erasure scan)."""

from __future__ import annotations


def row_digests(con, relation: str, *wheres: str) -> list[tuple[int, int | None]]:
    """(row count, sum of row hashes; None when no row) of `relation`, one per condition (the rows
    it holds; by default all), in one pass over the table."""
    conditions = wheres or ("true",)
    aggregates = ", ".join(f"count(*) FILTER (WHERE {w}), sum(_cdw_row_hash) FILTER (WHERE {w})" for w in conditions)
    row = con.execute(f"SELECT {aggregates} FROM (SELECT hash(t)::HUGEINT AS _cdw_row_hash, t.* FROM {relation} AS t)").fetchone()
    return [(row[2 * i], row[2 * i + 1]) for i in range(len(conditions))]
