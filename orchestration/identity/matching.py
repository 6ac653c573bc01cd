"""Probabilistic record matching: a Fellegi-Sunter model with blocking, run in DuckDB SQL.

Why not Splink: Splink 5 would do the same (Fellegi-Sunter, blocking rules, DuckDB) but adds a
dozen dependencies and its own SQL generation to a project that already runs everything in
dbt on one DuckDB file; this model is ~250 lines, its SQL is plain and portable, and every
number it uses lands in a table (int_identity_match_pairs) that `cdw explain` prints.

The model, for a pair of records that share no usable identifier:

  blocking    candidate pairs only come from records sharing a blocking key (name + company,
              name + postcode, name + date of birth, swapped names, a refused phone...); keys
              on more than `max_block_size` records are skipped, so cost stays linear. Shared
              devices are left out: the guardrail that keeps their identifiers out of the graph
              would be undone by matching them to one of their users on name and phone.
  comparisons first name, last name (Jaro-Winkler levels; nicknames already folded; a
              swapped first/last compared crosswise), company, address, date of birth, phone.
  training    m-probabilities from pairs inside deterministic components (records the
              identifier graph already joined: same person, labelled by the data itself),
              u-probabilities from random pairs of records in different components; the prior
              is the share of all record pairs the identifier graph joined (the chance that
              two random records are one person, as u assumes). Not the share of blocked
              pairs: those already carry the evidence of their blocking key, which the
              comparisons count again, so namesakes of one postcode scored as certain matches.
              Levels seen rarely are smoothed; a NULL on either side weighs 0.
  decision    match_probability >= var identity_match_threshold makes a record-record edge,
              unless a name clearly differs (VETO_LEVELS: families and colleagues share
              everything but a name).
"""

from __future__ import annotations

import math

import pandas as pd

# comparison -> SQL level expression over aliases l / r (first/last possibly swapped: see _pairs_sql)
COMPARISONS: dict[str, str] = {
    "first_name": """case
        when l.first_name_key is null or r_first is null then 'null'
        when l.first_name_key = r_first then 'exact'
        when jaro_winkler_similarity(l.first_name_key, r_first) >= 0.92 then 'jw_0.92'
        when jaro_winkler_similarity(l.first_name_key, r_first) >= 0.80 then 'jw_0.80'
        when left(l.first_name_key, 1) = left(r_first, 1) and (length(l.first_name_key) <= 2 or length(r_first) <= 2) then 'initial'
        else 'different' end""",
    "last_name": """case
        when l.last_name_key is null or r_last is null then 'null'
        when l.last_name_key = r_last then 'exact'
        when jaro_winkler_similarity(l.last_name_key, r_last) >= 0.92 then 'jw_0.92'
        when jaro_winkler_similarity(l.last_name_key, r_last) >= 0.80 then 'jw_0.80'
        else 'different' end""",
    "company": """case
        when coalesce(l.crm_company_id, -1) = r.crm_company_id then 'same_crm_company'
        when l.company_key is null or r.company_key is null then 'null'
        when l.company_key = r.company_key then 'same_name'
        when jaro_winkler_similarity(l.company_key, r.company_key) >= 0.9 then 'similar_name'
        else 'different' end""",
    "address": """case
        when l.postal_key is null or r.postal_key is null then 'null'
        when l.postal_key = r.postal_key and l.address_key = r.address_key then 'same_address'
        when l.postal_key = r.postal_key then 'same_postcode'
        else 'different' end""",
    "date_of_birth": """case
        when l.date_of_birth is null or r.date_of_birth is null then 'null'
        when l.date_of_birth = r.date_of_birth then 'same'
        else 'different' end""",
    "phone": """case
        when l.phone_key is null or r.phone_key is null then 'null'
        when l.phone_key = r.phone_key then 'same'
        else 'different' end""",
}

# blocking rule name -> key expression over a record (NULL: the record is not in that block)
BLOCKING_RULES: dict[str, str] = {
    "name_company": "first_name_key || '|' || last_name_key || '|' || company_block",
    "first_name_company": "first_name_key || '|' || company_block",
    "last_name_company": "last_name_key || '|' || company_block",
    "swapped_name_company": "least(first_name_key, last_name_key) || '|' || greatest(first_name_key, last_name_key) || '|' || company_block",
    "name_postcode": "first_name_key || '|' || last_name_key || '|' || postal_key",
    "last_name_address": "last_name_key || '|' || postal_key || '|' || address_key",
    "name_date_of_birth": "first_name_key || '|' || last_name_key || '|' || cast(date_of_birth as varchar)",
    "company_date_of_birth": "company_block || '|' || cast(date_of_birth as varchar)",
    "postcode_date_of_birth": "postal_key || '|' || cast(date_of_birth as varchar)",
    "postcode_initials": "postal_key || '|' || least(left(first_name_key, 1), left(last_name_key, 1)) || greatest(left(first_name_key, 1), left(last_name_key, 1))",
    "phone": "phone_key",
}

# Guardrail verdict (int_identity_record_identifiers.suppression_reason prefix) of a web device
# several people identified on: it is no one's, so it is not matched to any of them either.
SHARED_DEVICE_REASON = "shared_device"

# Levels that veto a match whatever the other evidence: two records whose first or last names
# clearly differ are two people (a family shares phone, address and last name; colleagues share
# company and address). Swapped first/last names are compared crosswise before this applies.
VETO_LEVELS = {"first_name": {"different"}, "last_name": {"different"}}


def matchable_records_sql(records: str, record_identifiers: str) -> str:
    """The records (relation of int_identity_records) that may be matched: all but shared
    devices (per the guardrail verdicts in `record_identifiers`)."""
    return f"""
        select * from {records}
        where record_key not in (
            select record_key from {record_identifiers}
            where suppression_reason like '{SHARED_DEVICE_REASON}%')"""


def prepare_records(con, records_sql: str, labels: pd.DataFrame | str) -> None:
    """Temp table match_records: the records with names, their matching keys and deterministic
    component (`labels`: record_key, component - a DataFrame, or the name of a relation)."""
    name = labels if isinstance(labels, str) else "match_labels_input"
    if not isinstance(labels, str):
        con.register(name, labels)
    con.execute(f"""
        create or replace temp table match_records as
        select
            rec.record_key,
            rec.source,
            rec.first_name_key,
            rec.last_name_key,
            rec.crm_company_id,
            nullif(regexp_replace(regexp_replace(lower(strip_accents(rec.company_name)),
                '\\b(the|inc|llc|corp|ltd|limited|plc|gmbh|ag|kg|sa|sas|sarl|co)\\b', '', 'g'), '[^a-z0-9]', '', 'g'), '') as company_key,
            coalesce(cast(rec.crm_company_id as varchar), nullif(regexp_replace(regexp_replace(lower(strip_accents(rec.company_name)),
                '\\b(the|inc|llc|corp|ltd|limited|plc|gmbh|ag|kg|sa|sas|sarl|co)\\b', '', 'g'), '[^a-z0-9]', '', 'g'), '')) as company_block,
            nullif(regexp_replace(upper(rec.postal_code), '[^A-Z0-9]', '', 'g'), '') as postal_key,
            nullif(regexp_replace(lower(strip_accents(rec.address)), '[^a-z0-9]', '', 'g'), '') as address_key,
            rec.date_of_birth,
            coalesce(rec.phone_e164, rec.secondary_phone_e164) as phone_key,
            match_labels.component
        from ({records_sql}) as rec
        inner join {name} as match_labels on rec.record_key = match_labels.record_key
        where rec.first_name_key is not null or rec.last_name_key is not null
    """)
    if not isinstance(labels, str):
        con.unregister(name)


def _pairs_sql(pairs_table: str) -> str:
    """Comparison levels of the pairs in `pairs_table` (columns l_key, r_key, ...)."""
    r_first = "(case when base.names_swapped then r.last_name_key else r.first_name_key end)"
    r_last = "(case when base.names_swapped then r.first_name_key else r.last_name_key end)"
    levels = ",\n".join(
        f"({sql.replace('r_first', r_first).replace('r_last', r_last)}) as {name}_level"
        for name, sql in COMPARISONS.items())
    return f"""
        with base as (
            select p.*,
                -- a swapped first / last name is compared crosswise
                coalesce(jaro_winkler_similarity(l.first_name_key, r.last_name_key), 0)
                    + coalesce(jaro_winkler_similarity(l.last_name_key, r.first_name_key), 0)
                    > coalesce(jaro_winkler_similarity(l.first_name_key, r.first_name_key), 0)
                    + coalesce(jaro_winkler_similarity(l.last_name_key, r.last_name_key), 0) + 0.3 as names_swapped
            from {pairs_table} as p
            inner join match_records as l on p.l_key = l.record_key
            inner join match_records as r on p.r_key = r.record_key
        )
        select base.*, {levels}
        from base
        inner join match_records as l on base.l_key = l.record_key
        inner join match_records as r on base.r_key = r.record_key
    """


def block(con, max_block_size: int) -> None:
    """Temp table match_candidates: distinct record pairs sharing a blocking key (first rule kept)."""
    parts = []
    for rule, key in BLOCKING_RULES.items():
        parts.append(f"""
            select '{rule}' as blocking_rule, record_key, {key} as block_key
            from match_records where {key} is not null""")
    con.execute(f"""
        create or replace temp table match_block_keys as
        with keyed as ({" union all ".join(parts)}),
        sizes as (select blocking_rule, block_key, count(*) as n from keyed group by all)
        select keyed.* from keyed inner join sizes using (blocking_rule, block_key)
        where sizes.n between 2 and {int(max_block_size)}
    """)
    con.execute("""
        create or replace temp table match_candidates as
        select l_key, r_key, min(blocking_rule) as blocking_rule
        from (
            select a.record_key as l_key, b.record_key as r_key, a.blocking_rule
            from match_block_keys as a
            inner join match_block_keys as b
                on a.blocking_rule = b.blocking_rule and a.block_key = b.block_key and a.record_key < b.record_key
        ) as pairs
        group by l_key, r_key
    """)


def train(con, sample_pairs: int) -> tuple[dict, float]:
    """m/u per comparison level and the prior, from the data (see module docstring)."""
    # m: pairs of records the identifier graph joined (capped per component by taking neighbours in key order);
    # the sample is chosen by a hash of the pair, so the same records train the same weights whatever
    # order the rows arrive in (a reservoir sample follows the scan order: threads, component numbering)
    con.execute(f"""
        create or replace temp table match_train_m as
        select l_key, r_key from (
            select record_key as l_key, lead(record_key) over (partition by component order by record_key) as r_key
            from match_records
        ) where r_key is not null
        order by hash(l_key || '|' || r_key), l_key
        limit {int(sample_pairs)}
    """)
    n = con.execute("select count(*) from match_records").fetchone()[0]
    con.execute(f"""
        create or replace temp table match_train_u as
        select l.record_key as l_key, r.record_key as r_key
        from (select record_key, component, row_number() over (order by hash(record_key || 'l'), record_key) as i from match_records) as l
        inner join (select record_key, component, row_number() over (order by hash(record_key || 'r'), record_key) as i from match_records) as r
            on r.i = (l.i * 7919) % {max(n, 1)} + 1
        where l.component <> r.component and l.record_key <> r.record_key
        order by l.i
        limit {int(sample_pairs)}
    """)
    # comparison levels computed once per training set, then counted per comparison
    con.execute(f"create or replace temp table match_train_m_levels as {_pairs_sql('match_train_m')}")
    con.execute(f"create or replace temp table match_train_u_levels as {_pairs_sql('match_train_u')}")
    weights: dict = {}
    for name in COMPARISONS:
        m = con.execute(f"select {name}_level, count(*) from match_train_m_levels group by 1").fetchall()
        u = con.execute(f"select {name}_level, count(*) from match_train_u_levels group by 1").fetchall()
        m_counts, u_counts = dict(m), dict(u)
        levels = sorted(set(m_counts) | set(u_counts) | {"null"})
        m_total = sum(v for k, v in m_counts.items() if k != "null")
        u_total = sum(v for k, v in u_counts.items() if k != "null")
        k = max(len(levels) - 1, 1)
        weights[name] = {}
        for level in levels:
            if level == "null":
                weights[name][level] = {"m": None, "u": None, "weight": 0.0}
                continue
            m_p = (m_counts.get(level, 0) + 0.5) / (m_total + 0.5 * k)
            u_p = (u_counts.get(level, 0) + 0.5) / (u_total + 0.5 * k)
            weights[name][level] = {"m": m_p, "u": u_p, "weight": math.log2(m_p / u_p)}
    records, joined = con.execute("""
        select coalesce(sum(n), 0), coalesce(sum(n * (n - 1) / 2), 0)
        from (select count(*) as n from match_records group by component)
    """).fetchone()
    all_pairs = records * (records - 1) / 2
    prior = min(max((joined + 1) / (all_pairs + 2), 1e-12), 0.5)
    return weights, prior


def score(con, weights: dict, prior: float, threshold: float) -> None:
    """Temp table match_scored: every blocked pair across deterministic components, with levels,
    weights, probability and the decision, ordered by the pair's keys. The pairs stay in DuckDB: at
    a million people there are ~1.6M of them, and a pandas round trip cost ~17 s at scale L."""
    cases = []
    for name, levels in weights.items():
        whens = " ".join(f"when '{lvl}' then cast({w['weight']!r} as double)" for lvl, w in levels.items())
        cases.append(f"case {name}_level {whens} else 0.0 end as {name}_weight")
    prior_weight = math.log2(prior / (1 - prior))
    level_cols = ", ".join(f"{n}_level" for n in COMPARISONS)
    weight_sum = " + ".join(f"{n}_weight" for n in COMPARISONS)
    vetoed = " or ".join(f"coalesce({name}_level in ({', '.join(repr(v) for v in sorted(levels))}), false)"
                         for name, levels in VETO_LEVELS.items()) or "false"
    con.execute("""
        create or replace temp table match_cross as
        select c.* from match_candidates as c
        inner join match_records as l on c.l_key = l.record_key
        inner join match_records as r on c.r_key = r.record_key
        where l.component <> r.component
    """)
    con.execute(f"""
        create or replace temp table match_scored as
        select *, match_probability >= {float(threshold)!r} and not is_vetoed as is_match
        from (
            select l_key as record_key_left, r_key as record_key_right, blocking_rule, names_swapped,
                   {level_cols}, {", ".join(f"{n}_weight" for n in COMPARISONS)},
                   cast({prior_weight!r} as double) + {weight_sum} as match_weight,
                   1.0 / (1.0 + pow(2.0, -(cast({prior_weight!r} as double) + {weight_sum}))) as match_probability,
                   {vetoed} as is_vetoed
            from (select *, {", ".join(cases)} from ({_pairs_sql('match_cross')}))
        )
        order by record_key_left, record_key_right
    """)
