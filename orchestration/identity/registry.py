"""The customer-id registry: stable ids across incremental runs and full rebuilds.

Schema `identity_registry` lives beside the dbt schemas but is not built by dbt, so a
`dbt build` (full refresh or not) never drops it:

  customer_ids     record_key -> customer_id the record had after the latest run, and the run
                   that gave it that id (assigned_run)
  id_births        customer_id -> run it was first issued in (its age)
  runs             one row per identity run
  customer_merges  old id -> surviving id, run, time and reason, when two profiles merged

Rules: a component whose records carry registry ids keeps the OLDEST of them (earliest
birth run, then smallest id); the others are logged as merged into it. A component none of
whose records had an id gets `derive_customer_id(anchor record_key)`, so a rebuild of an empty
warehouse from the same inputs gives the same ids. When a profile splits, the part holding
most of the id's records keeps it; the others get an id of their own.
"""

from __future__ import annotations

import pandas as pd

from orchestration.identity.graph import derive_customer_id

SCHEMA = "identity_registry"


def ensure(con) -> None:
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(f"create table if not exists {SCHEMA}.customer_ids (record_key varchar primary key, customer_id varchar not null, assigned_run bigint not null)")
    con.execute(f"create table if not exists {SCHEMA}.id_births (customer_id varchar primary key, born_run bigint not null, born_at timestamp not null)")
    con.execute(f"create table if not exists {SCHEMA}.runs (run bigint primary key, started_at timestamp not null, records bigint, customers bigint, merges bigint)")
    con.execute(f"""create table if not exists {SCHEMA}.customer_merges (
        run bigint not null, merged_at timestamp not null, old_customer_id varchar not null,
        new_customer_id varchar not null, reason varchar not null)""")


def assign(con, records: pd.DataFrame, reasons=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """records: record_key, component, anchor_record_key. Returns (records + customer_id, merges).

    Writes the registry (ids, births, run, merges) through `con`. `reasons` maps a component
    label to the text logged when profiles merge in it: a dict, or a function given the labels of
    the components where profiles merged (so reasons are worked out for those only)."""
    ensure(con)
    run = con.execute(f"select coalesce(max(run), 0) + 1 from {SCHEMA}.runs").fetchone()[0]
    con.execute(f"insert into {SCHEMA}.runs values (?, now(), ?, null, null)", [run, len(records)])
    if records.empty:
        out = records.assign(customer_id=pd.Series(dtype="string"))
        con.execute(f"update {SCHEMA}.runs set customers = 0, merges = 0 where run = ?", [run])
        return out, pd.DataFrame(columns=["old_customer_id", "new_customer_id", "reason"])
    con.register("registry_records", records[["record_key", "component", "anchor_record_key"]])
    known = con.execute(f"""
        select rr.component, rr.anchor_record_key, ids.customer_id, coalesce(b.born_run, ids.assigned_run) as born_run,
               count(*) as records_with_id
        from registry_records as rr
        inner join {SCHEMA}.customer_ids as ids on rr.record_key = ids.record_key
        left join {SCHEMA}.id_births as b on ids.customer_id = b.customer_id
        group by all
    """).df()
    con.unregister("registry_records")

    # Vectorized: at a million people a Python loop over components costs tens of seconds.
    chosen = pd.Series(dtype=object)  # component -> customer_id
    if len(known):
        # each id goes to the component holding most of its records (split), then oldest id wins per component
        known = known.sort_values(["customer_id", "records_with_id", "anchor_record_key"], ascending=[True, False, True])
        owner = known.drop_duplicates("customer_id")[["customer_id", "component"]]
        owned = known.merge(owner, on=["customer_id", "component"])
        oldest = owned.sort_values(["component", "born_run", "customer_id"]).drop_duplicates("component")
        chosen = pd.Series(oldest["customer_id"].to_numpy(), index=oldest["component"].to_numpy())
    taken = set(chosen.to_numpy())
    anchors = records.drop_duplicates("component")
    anchors = anchors[~anchors["component"].isin(chosen.index)]
    fresh = {}
    for component, anchor in zip(anchors["component"].to_numpy(), anchors["anchor_record_key"].to_numpy()):
        candidate, n = derive_customer_id(anchor), 1
        while candidate in taken:  # an id another profile holds: the next one
            candidate, n = derive_customer_id(f"{anchor}#{n}"), n + 1
        fresh[component] = candidate
        taken.add(candidate)
    chosen = pd.concat([chosen, pd.Series(fresh, dtype=object)]) if fresh else chosen

    out = records.copy()
    out["customer_id"] = out["component"].map(chosen)

    merges = pd.DataFrame(columns=["old_customer_id", "new_customer_id", "reason"])
    if len(known):
        lost = known[~known["customer_id"].isin(chosen.to_numpy())].copy()
        lost = lost.sort_values(["customer_id", "records_with_id"], ascending=[True, False]).drop_duplicates("customer_id")
        lost["new_customer_id"] = lost["component"].map(chosen)
        why = reasons(list(lost["component"].unique())) if callable(reasons) else (reasons or {})
        lost["reason"] = [why.get(c, "shared identifier") for c in lost["component"]]
        merges = lost.rename(columns={"customer_id": "old_customer_id"})[["old_customer_id", "new_customer_id", "reason"]]

    # Only the records whose id is new or changed are written: rewriting a million unchanged rows
    # of a primary-keyed table cost ~15 s per run at scale L. A new id can only be on those rows.
    con.register("registry_out", out[["record_key", "customer_id"]])
    con.execute(f"""
        create or replace temp table registry_changed as
        select registry_out.record_key, registry_out.customer_id
        from registry_out
        left join {SCHEMA}.customer_ids as ids on registry_out.record_key = ids.record_key
        where ids.customer_id is distinct from registry_out.customer_id
    """)
    con.unregister("registry_out")
    con.execute(f"insert or replace into {SCHEMA}.customer_ids select record_key, customer_id, {run} from registry_changed")
    con.execute(f"""
        insert into {SCHEMA}.id_births
        select distinct customer_id, {run}, now() from registry_changed
        where customer_id not in (select customer_id from {SCHEMA}.id_births)
    """)
    con.execute("drop table registry_changed")
    if len(merges):
        con.register("registry_merges", merges)
        con.execute(f"insert into {SCHEMA}.customer_merges select {run}, now(), old_customer_id, new_customer_id, reason from registry_merges")
        con.unregister("registry_merges")
    con.execute(f"update {SCHEMA}.runs set customers = ?, merges = ? where run = ?", [chosen.nunique(), len(merges), run])
    return out, merges
