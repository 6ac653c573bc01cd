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

from orchestration.identity.graph import CUSTOMER_ID_PREFIX, derive_customer_id

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
    con.register("registry_records_df", records[["record_key", "component", "anchor_record_key"]])
    try:
        merges = assign_relation(con, "registry_records_df", reasons)
    finally:
        con.unregister("registry_records_df")
    ids = con.execute("select record_key, customer_id from registry_assigned").df()
    out = records.merge(ids, on="record_key", how="left") if len(records) else records.assign(
        customer_id=pd.Series(dtype="string"))
    return out, merges


def assign_relation(con, relation: str, reasons=None) -> pd.DataFrame:
    """The registry's rules on a relation of (record_key, component, anchor_record_key), in DuckDB:
    at a million people, moving the records through pandas cost more than the rules themselves.
    Leaves the temp table registry_assigned (record_key, customer_id); returns the merges logged."""
    ensure(con)
    run = con.execute(f"select coalesce(max(run), 0) + 1 from {SCHEMA}.runs").fetchone()[0]
    n_records = con.execute(f"select count(*) from {relation}").fetchone()[0]
    con.execute(f"insert into {SCHEMA}.runs values (?, now(), ?, null, null)", [run, n_records])
    # (component, id) for every registry id the component's records hold, with the id's age
    con.execute(f"""
        create or replace temp table registry_known as
        select rr.component, min(rr.anchor_record_key) as anchor_record_key, ids.customer_id,
               min(coalesce(b.born_run, ids.assigned_run)) as born_run, count(*) as records_with_id
        from {relation} as rr
        inner join {SCHEMA}.customer_ids as ids on rr.record_key = ids.record_key
        left join {SCHEMA}.id_births as b on ids.customer_id = b.customer_id
        group by rr.component, ids.customer_id
    """)
    # each id goes to the component holding most of its records (a split), then the oldest id of a
    # component wins (earliest birth run, then smallest id)
    con.execute("""
        create or replace temp table registry_chosen as
        with owned as (
            select component, customer_id, born_run
            from registry_known
            qualify row_number() over (partition by customer_id
                                       order by records_with_id desc, anchor_record_key) = 1
        )
        select component, customer_id
        from owned
        qualify row_number() over (partition by component order by born_run, customer_id) = 1
    """)
    # a component none of whose records had an id (or whose ids went to bigger parts): a new id,
    # derived from its anchor, unless a profile holds that one already (then anchor#1, anchor#2...)
    fresh = con.execute(f"""
        select component, anchor_record_key,
               '{CUSTOMER_ID_PREFIX}' || left(md5(anchor_record_key), 16) as candidate
        from (select component, min(anchor_record_key) as anchor_record_key from {relation} group by component)
        where component not in (select component from registry_chosen)
    """).df() if n_records else pd.DataFrame(columns=["component", "anchor_record_key", "candidate"])
    if len(fresh):
        taken = {i for (i,) in con.execute("select customer_id from registry_chosen").fetchall()}
        clash = fresh["candidate"].isin(taken) | fresh["candidate"].duplicated(keep="first")
        if clash.any():  # rare: a split part whose anchor once named the whole profile
            taken |= set(fresh.loc[~clash, "candidate"])
            resolved = []
            for anchor in fresh.loc[clash, "anchor_record_key"]:
                n = 1
                while (candidate := derive_customer_id(f"{anchor}#{n}")) in taken:
                    n += 1
                taken.add(candidate)
                resolved.append(candidate)
            fresh.loc[clash, "candidate"] = resolved
        con.register("registry_fresh", fresh[["component", "candidate"]])
        con.execute("insert into registry_chosen select component, candidate from registry_fresh")
        con.unregister("registry_fresh")
    con.execute(f"""
        create or replace temp table registry_assigned as
        select rr.record_key, chosen.customer_id
        from {relation} as rr
        inner join registry_chosen as chosen on rr.component = chosen.component
    """)

    # ids no component kept: merged into the id of the component holding most of their records
    lost = con.execute("""
        select known.customer_id as old_customer_id, chosen.customer_id as new_customer_id, known.component
        from registry_known as known
        inner join registry_chosen as chosen on known.component = chosen.component
        where known.customer_id not in (select customer_id from registry_chosen)
        qualify row_number() over (partition by known.customer_id order by known.records_with_id desc) = 1
        order by old_customer_id
    """).df()
    merges = pd.DataFrame(columns=["old_customer_id", "new_customer_id", "reason"])
    if len(lost):
        why = reasons(list(lost["component"].unique())) if callable(reasons) else (reasons or {})
        lost["reason"] = [why.get(c, "shared identifier") for c in lost["component"]]
        merges = lost[["old_customer_id", "new_customer_id", "reason"]].reset_index(drop=True)

    # Only the records whose id is new or changed are written: rewriting a million unchanged rows
    # of a primary-keyed table cost ~15 s per run at scale L. A new id can only be on those rows.
    con.execute(f"""
        create or replace temp table registry_changed as
        select assigned.record_key, assigned.customer_id
        from registry_assigned as assigned
        left join {SCHEMA}.customer_ids as ids on assigned.record_key = ids.record_key
        where ids.customer_id is distinct from assigned.customer_id
    """)
    con.execute(f"insert or replace into {SCHEMA}.customer_ids select record_key, customer_id, {run} from registry_changed")
    con.execute(f"""
        insert into {SCHEMA}.id_births
        select distinct customer_id, {run}, now() from registry_changed
        where customer_id not in (select customer_id from {SCHEMA}.id_births)
    """)
    if len(merges):
        con.register("registry_merges", merges)
        con.execute(f"insert into {SCHEMA}.customer_merges select {run}, now(), old_customer_id, new_customer_id, reason from registry_merges")
        con.unregister("registry_merges")
    customers = con.execute("select count(distinct customer_id) from registry_chosen").fetchone()[0]
    con.execute(f"update {SCHEMA}.runs set customers = ?, merges = ? where run = ?", [customers, len(merges), run])
    for table in ("registry_known", "registry_chosen", "registry_changed"):
        con.execute(f"drop table {table}")
    return merges
