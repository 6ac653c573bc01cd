"""Probabilistic record matching with Splink 5 (Fellegi-Sunter) on DuckDB.

Records that share no usable identifier (email, phone, user id, a declared custom identifier)
but are the same person - typos, nicknames, swapped names, a missing email - are found here.
The model is Splink's; this module only says what to compare, how to block and how to train,
and turns Splink's predictions into the columns `int_identity_match_pairs` keeps.

The model, for a pair of records:

  records      every source record with a first or last name, except shared web devices (the
               guardrail that keeps their identifiers out of the graph would be undone by matching
               them to one of their users). An email or phone that a guardrail refused (junk, role
               mailbox, shared, conflicting) is NULL here: it weighs nothing, so it cannot glue
               people together through the back door either.
  comparisons  first and last name (exact with term frequencies, swapped with the other name,
               Damerau-Levenshtein 1, Jaro-Winkler 0.9, swapped and similar, Jaro-Winkler 0.8 / 0.7,
               initial), date of birth (exact, day and month transposed, one typo, two typos,
               within a month, within a year), email (exact, one typo not in a number, same domain),
               phone (exact, one typo), location (address, postcode and city as ONE comparison: a
               family shares all three, and three comparisons counted that one fact three times and
               merged families; each part agrees exactly or is similar - an address with a typo, its
               lines in another order or a space lost, with the same numbers; a postcode with one
               digit wrong or two swapped; a town with a typo - and the address leads: all three the
               same, all three similar, a similar address with a similar postcode or town, the same
               or a similar address alone, the same postcode and town, the same postcode or town
               alone with term frequencies, a similar postcode or town), company (same CRM company,
               same name, similar name; names keyed by orchestration/identifiers/company.py). A NULL
               on either side is Splink's null level: weight 0. Nicknames are folded before (seed
               identity_nicknames).
  blocking     candidate pairs come from several rules on different fields (full name in either
               order, name + date of birth, name + postcode, date of birth + postcode, initials,
               3-letter name prefixes, address, date of birth, postcode, town, phone, email user name,
               company), so typos in two or three fields do not lose a pair. Each rule blocks on a
               precomputed key that is NULL where more than var identity_match_max_block_size
               records share it, so the pairs grow linearly with records. Splink counts the pairs each rule adds (reported).
  training     no labels: u by random sampling; m by expectation maximisation over several
               blocking rules (each trains the comparisons it does not block on); the prior (the
               chance two random records are one person) from a deterministic rule - same first and
               last name (either order) and date of birth - at the recall the trained model gives
               it (m of the three exact levels: the model's own estimate, not an assumed figure).
               Where the data carries no such pair, from the records the identifier graph joined
               and that rule, at the recall var identity_match_prior_recall assumes. With too
               little evidence (no pairs for EM, a comparison left untrained, no deterministic
               pair) the run says so (`evidence`) and merges nothing probabilistically.
  decision     match_probability >= var identity_match_threshold makes a record-record edge.

Every run keeps the trained model (Splink's JSON) and its charts under
$CDW_HOME/reports/identity/<run>/ (see `save_report`).
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

# Guardrail verdict (int_identity_record_identifiers.suppression_reason prefix) of a web device
# several people identified on: it is no one's, so it is not matched to any of them either.
SHARED_DEVICE_REASON = "shared_device"

# EM sessions, each blocking on fields whose comparisons it then does not train; all of them
# together train every comparison when the data carries the fields.
EM_BLOCKING = [("first_name", "last_name"), ("date_of_birth",), ("postcode",), ("phone",), ("email_user",)]

# columns derived from the compared ones before matching (name -> DuckDB expression over a record of
# matchable_records_sql); comparisons and blocking keys use them
DERIVED_COLUMNS: dict[str, str] = {
    "email_user": "split_part(email, '@', 1)",
    # the numbers in the address (street, unit), in order: a neighbour on the same street has others
    "address_numbers": "list_sort(regexp_extract_all(address, '[0-9]+'))",
    # its letter trigrams, spaces out: the same address with its lines in another order, a space lost or
    # added, or a typo still shares most of them
    "address_grams": "list_distinct(list_transform(range(1, length(replace(address, ' ', '')) - 1), "
                     "i -> substr(replace(address, ' ', ''), i, 3)))",
}

# blocking rules for prediction: name -> key expression over the record (NULL: not blocked by it)
BLOCKING_KEYS: dict[str, str] = {
    "full_name": "least(first_name, last_name) || '|' || greatest(first_name, last_name)",
    "first_name_date_of_birth": "first_name || '|' || date_of_birth",
    "last_name_date_of_birth": "last_name || '|' || date_of_birth",
    "date_of_birth_postcode": "date_of_birth || '|' || postcode",
    "date_of_birth_initials": "date_of_birth || '|' || least(left(first_name, 1), left(last_name, 1)) "
                              "|| greatest(left(first_name, 1), left(last_name, 1))",
    "first_name_postcode": "first_name || '|' || postcode",
    "last_name_postcode": "last_name || '|' || postcode",
    "name_prefixes": "least(left(first_name, 3), left(last_name, 3)) || '|' || greatest(left(first_name, 3), left(last_name, 3))",
    "address": "address || '|' || coalesce(postcode, city, '')",
    # one field alone (as Splink's own FEBRL examples block): a pair with typos in two or three of the
    # other fields is still compared, at a cost the block size cap keeps linear
    "date_of_birth": "cast(date_of_birth as varchar)",
    "postcode": "postcode",
    "city": "city",
    "phone": "phone",
    "email_user": "email_user",
    "first_name_company": "first_name || '|' || company",
    "last_name_company": "last_name || '|' || company",
}


@dataclass
class MatchResult:
    """What a matching run produced: the scored pairs (Arrow) and what it says about itself."""
    pairs: pa.Table
    evidence: str                      # 'sufficient' or 'insufficient: <why>'
    summary: dict = field(default_factory=dict)
    model: dict | None = None          # Splink's settings with the trained parameters
    linker: object | None = None       # for charts (save_report)


def matchable_records_sql(records: str, record_identifiers: str) -> str:
    """The records to match (relations of int_identity_records / int_identity_record_identifiers),
    one row each with the compared attributes normalized; guardrail-refused emails and phones NULL."""
    from orchestration.identifiers.company import name_key_sql

    refused = f"(select record_key, identifier_type, identifier_value from {record_identifiers} where not is_usable)"
    return f"""
        select
            rec.record_key,
            rec.first_name_key as first_name,
            rec.last_name_key as last_name,
            cast(rec.date_of_birth as date) as date_of_birth,
            case when rec.email_match_key is not null and not exists (
                select 1 from {refused} as x where x.record_key = rec.record_key
                    and x.identifier_type = 'email' and x.identifier_value = rec.email_match_key)
                then rec.email_match_key end as email,
            case when rec.phone_e164 is not null and not exists (
                select 1 from {refused} as x where x.record_key = rec.record_key
                    and x.identifier_type = 'phone' and x.identifier_value = rec.phone_e164)
                then rec.phone_e164 end as phone,
            nullif(regexp_replace(upper(rec.postal_code), '[^A-Z0-9]', '', 'g'), '') as postcode,
            nullif(trim(regexp_replace(lower(strip_accents(rec.address)), '[^a-z0-9]+', ' ', 'g')), '') as address,
            nullif(trim(regexp_replace(lower(strip_accents(rec.city)), '[^a-z0-9]+', ' ', 'g')), '') as city,
            {name_key_sql("rec.company_name")} as company,
            cast(rec.crm_company_id as varchar) as crm_company_id
        from {records} as rec
        where (rec.first_name_key is not null or rec.last_name_key is not null)
            and rec.record_key not in (
                select record_key from {record_identifiers}
                where suppression_reason like '{SHARED_DEVICE_REASON}%')"""


def _comparisons():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    def name(col: str, other: str):
        return cl.CustomComparison(output_column_name=col, comparison_description=f"{col} (nicknames folded)",
                                   comparison_levels=[
            cll.NullLevel(col),
            cll.ExactMatchLevel(col, term_frequency_adjustments=True),
            cll.CustomLevel(f"{col}_l = {other}_r", label_for_charts=f"swapped with {other}"),
            cll.DamerauLevenshteinLevel(col, 1),
            cll.JaroWinklerLevel(col, 0.9),
            # swapped names with a typo in one of them: compared crosswise
            cll.CustomLevel(f"jaro_winkler_similarity({col}_l, {other}_r) >= 0.9",
                            label_for_charts=f"swapped with {other}, similar"),
            cll.JaroWinklerLevel(col, 0.8),
            cll.JaroWinklerLevel(col, 0.7),
            cll.CustomLevel(f"left({col}_l, 1) = left({col}_r, 1) and least(length({col}_l), length({col}_r)) = 1",
                            label_for_charts="initial"),
            cll.ElseLevel(),
        ])

    dob = "date_of_birth"
    return [
        name("first_name", "last_name"),
        name("last_name", "first_name"),
        cl.CustomComparison(output_column_name=dob, comparison_levels=[
            cll.NullLevel(dob),
            cll.ExactMatchLevel(dob),
            cll.CustomLevel(f"year({dob}_l) = year({dob}_r) and month({dob}_l) = day({dob}_r) "
                            f"and day({dob}_l) = month({dob}_r)", label_for_charts="day and month transposed"),
            cll.CustomLevel(f"damerau_levenshtein(cast({dob}_l as varchar), cast({dob}_r as varchar)) <= 1",
                            label_for_charts="one typo"),
            cll.CustomLevel(f"damerau_levenshtein(cast({dob}_l as varchar), cast({dob}_r as varchar)) <= 2",
                            label_for_charts="two typos"),
            cll.AbsoluteDateDifferenceLevel(dob, input_is_string=False, threshold=1, metric="month"),
            cll.AbsoluteDateDifferenceLevel(dob, input_is_string=False, threshold=1, metric="year"),
            cll.ElseLevel(),
        ]),
        cl.CustomComparison(output_column_name="email", comparison_levels=[
            cll.NullLevel("email"),
            cll.ExactMatchLevel("email"),
            # a typo in the address; the same user name at another domain is no level of its own: user
            # names are made of names, so it would count the name comparisons' evidence twice
            # (namesakes john.smith@ at two providers)
            # (a different number is no typo: john.smith1@ and john.smith2@ are namesakes)
            cll.CustomLevel("damerau_levenshtein(email_l, email_r) <= 1 and regexp_replace(email_l, '[^0-9]', '', 'g') "
                            "= regexp_replace(email_r, '[^0-9]', '', 'g')", label_for_charts="one typo (not in a number)"),
            cll.CustomLevel("split_part(email_l, '@', 2) = split_part(email_r, '@', 2)", label_for_charts="same domain"),
            cll.ElseLevel(),
        ]),
        cl.CustomComparison(output_column_name="phone", comparison_levels=[
            cll.NullLevel("phone"), cll.ExactMatchLevel("phone"), cll.DamerauLevenshteinLevel("phone", 1),
            cll.ElseLevel()]),
        # where someone lives, as one comparison: address, postcode and city agreeing together is one fact
        # (a family shares all three), which three comparisons counted three times. Each part agrees
        # exactly or is similar (an address with a typo, its lines in another order or a space lost -
        # and the same numbers -, a postcode with one digit wrong or two swapped, a town with a typo);
        # the address leads (a postcode or a town alone is a neighbourhood, not a home)
        cl.CustomComparison(output_column_name="location", comparison_levels=[
            cll.CustomLevel(" and ".join(f"({c}_l is null or {c}_r is null)" for c in PLACE),
                            label_for_charts="no address, postcode or city on both").configure(is_null_level=True),
            cll.CustomLevel(" and ".join(f"{c}_l = {c}_r" for c in PLACE), label_for_charts="same address, postcode and city"),
            cll.CustomLevel(f"{SIMILAR['address']} and {SIMILAR['postcode']} and {SIMILAR['city']}",
                            label_for_charts="similar address, postcode and city"),
            cll.CustomLevel(f"{SIMILAR['address']} and ({SIMILAR['postcode']} or {SIMILAR['city']})",
                            label_for_charts="similar address, similar postcode or city"),
            cll.ExactMatchLevel("address", term_frequency_adjustments=True),
            cll.CustomLevel(SIMILAR["address"], label_for_charts="similar address"),
            cll.CustomLevel("postcode_l = postcode_r and city_l = city_r", label_for_charts="same postcode and city"),
            cll.ExactMatchLevel("postcode", term_frequency_adjustments=True),
            cll.ExactMatchLevel("city", term_frequency_adjustments=True),
            cll.CustomLevel(f"{SIMILAR['postcode']} or {SIMILAR['city']}", label_for_charts="similar postcode or city"),
            cll.ElseLevel(),
        ]),
        cl.CustomComparison(output_column_name="company", comparison_levels=[
            cll.NullLevel("company"),
            cll.CustomLevel("crm_company_id_l = crm_company_id_r", label_for_charts="same CRM company"),
            cll.ExactMatchLevel("company", term_frequency_adjustments=True),
            cll.JaroWinklerLevel("company", 0.9),
            cll.ElseLevel(),
        ]),
    ]


PLACE = ("address", "postcode", "city")
# when a part of the location is similar (SQL over the pair, _l / _r); exact agreement is similar too
SIMILAR = {
    # the same numbers (or none on one side) and the same text but for a typo or a lost space
    # (Jaro-Winkler), or its lines in another order (most letter trigrams shared: one typo changes at
    # most three, a swap of two lines two or three)
    "address": "((address_numbers_l = address_numbers_r or len(address_numbers_l) = 0 or len(address_numbers_r) = 0)"
               " and (jaro_winkler_similarity(address_l, address_r) >= 0.9"
               " or len(list_intersect(address_grams_l, address_grams_r))"
               " >= 0.6 * len(list_distinct(list_concat(address_grams_l, address_grams_r)))))",
    # one digit wrong, two swapped (Damerau-Levenshtein counts a transposition as one edit)
    "postcode": "damerau_levenshtein(postcode_l, postcode_r) <= 1",
    "city": "jaro_winkler_similarity(city_l, city_r) >= 0.9",
}
COMPARISON_NAMES = ["first_name", "last_name", "date_of_birth", "email", "phone", "location", "company"]


def _blocking_keys_sql(records: str, max_block_size: int) -> str:
    """The records with one key column per blocking rule, NULL where the key is on more than
    `max_block_size` records (a block that big is a common value, not evidence, and would make the
    pairs grow quadratically)."""
    derived = ", ".join(f"{expr} as {name}" for name, expr in DERIVED_COLUMNS.items())
    keyed = ",\n".join(f"({expr}) as raw_{rule}" for rule, expr in BLOCKING_KEYS.items())
    capped = ",\n".join(
        f"case when count(*) over (partition by raw_{rule}) <= {int(max_block_size)} then raw_{rule} end as block_{rule}"
        for rule in BLOCKING_KEYS)
    return f"""
        select * exclude ({", ".join(f"raw_{r}" for r in BLOCKING_KEYS)}), {capped}
        from (select *, {keyed} from (select *, {derived} from {records}))
        order by record_key"""


def run(records: pa.Table, *, threshold: float, max_block_size: int, prior_recall: float,
        u_max_pairs: float, em_max_pairs: float, keep_probability: float, seed: int = 42,
        threads: int | None = None) -> MatchResult:
    """Train a Splink model on `records` (columns of `matchable_records_sql` plus `component`, the
    record's deterministic component) and score the blocked pairs across components.

    Runs in its own in-memory DuckDB (Splink creates working tables; none lands in the warehouse).
    Returns pairs with match_probability >= `keep_probability` (the near misses explain why two
    look-alikes stayed apart)."""
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    logging.getLogger("splink").setLevel(logging.ERROR)  # Splink narrates every step at INFO / WARNING
    con = duckdb.connect()
    if threads:
        con.execute(f"set threads = {int(threads)}")
    con.register("match_input", records)
    con.execute(f"create table match_records as {_blocking_keys_sql('match_input', max_block_size)}")
    con.unregister("match_input")
    n_records = con.execute("select count(*) from match_records").fetchone()[0]
    summary: dict = {"records": int(n_records)}
    empty = _empty_pairs()
    if n_records < 2:
        return MatchResult(empty, "insufficient: fewer than two records to compare", summary)

    rules = [block_on(f"block_{rule}") for rule in BLOCKING_KEYS]
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_key",
        comparisons=_comparisons(),
        blocking_rules_to_generate_predictions=rules,
        retain_matching_columns=True,  # for the gamma (level) columns; the pairs table keeps no attribute
        retain_intermediate_calculation_columns=True,
    )
    db_api = DuckDBAPI(connection=con)
    table = db_api.register("match_records")
    linker = Linker(table, settings)

    counts = count_comparisons_from_blocking_rules(table, blocking_rules=rules, link_type="dedupe_only",
                                                   unique_id_column_name="record_key", record_sample_proportion=1.0)
    summary["candidate_pairs_per_rule"] = {rule: int(c["marginal_comparison_count"])
                                           for rule, c in zip(BLOCKING_KEYS, counts)}
    summary["candidate_pairs"] = sum(summary["candidate_pairs_per_rule"].values())

    problems: list[str] = []
    # prior: deterministic rules at a stated recall. The identifier graph's joins count when there are
    # any; the name rules are there for data without identifiers.
    deterministic = ["l.component = r.component",
                     block_on("first_name", "last_name", "date_of_birth"),
                     "l.first_name = r.last_name and l.last_name = r.first_name and l.date_of_birth = r.date_of_birth"]
    try:
        linker.training.estimate_probability_two_random_records_match(deterministic, recall=prior_recall)
    except Exception as exc:  # Splink refuses a prior of 0: no deterministic pair at all
        problems.append(f"no deterministic pair to estimate the prior from ({type(exc).__name__})")
    summary["prior"] = float(linker._settings_obj._probability_two_random_records_match)

    linker.training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)

    sessions = []
    for fields in EM_BLOCKING:
        # a rule no two records agree on trains nothing (Splink would raise): skip it
        shared = con.execute(f"""select count(*) from (select 1 from match_records where {" and ".join(f"{f} is not null" for f in fields)}
                                 group by {", ".join(fields)} having count(*) > 1)""").fetchone()[0]
        if not shared:
            sessions.append({"blocking": list(fields), "trained": False, "why": "no two records agree on it"})
            continue
        saved = linker._settings_obj.core_model_settings.copy()
        try:
            session = linker.training.estimate_parameters_using_expectation_maximisation(
                block_on(*fields), estimate_without_term_frequencies=True, max_pairs=em_max_pairs)
        except Exception as exc:  # no pairs under this rule (the field is empty): the others train
            # a failed session leaves the linker without the comparisons it blocked on: put them back
            linker._settings_obj.core_model_settings = saved
            sessions.append({"blocking": list(fields), "trained": False, "why": f"{type(exc).__name__}: {str(exc)[:200]}"})
            continue
        sessions.append({"blocking": list(fields), "trained": True,
                         "iterations": len(getattr(session, "_core_model_settings_history", []))})
    summary["em_sessions"] = sessions
    untrained = [c.output_column_name for c in linker._settings_obj.comparisons if not c._some_m_are_trained
                 and c.output_column_name in _fields_present(con)]
    if not any(s["trained"] for s in sessions):
        problems.append("expectation maximisation found no pairs under any of its blocking rules")
    elif untrained:
        problems.append("m-probabilities not trained for " + ", ".join(untrained))
    summary["untrained_comparisons"] = untrained
    summary["levels_without_evidence"] = _neutralize_unobserved_levels(
        linker, min(u_max_pairs, n_records * (n_records - 1) / 2))
    if not problems:
        summary.update(_prior_from_trained_model(con, linker))
    model = linker.misc.save_model_to_json()
    evidence = "sufficient" if not problems else "insufficient: " + "; ".join(problems)
    if problems:
        return MatchResult(empty, evidence, summary, model, linker)

    predictions = linker.inference.predict(threshold_match_probability=keep_probability)
    pairs = _pairs(con, predictions.physical_name, model, threshold, summary["prior"])
    summary["scored_pairs"] = pairs.num_rows
    summary["matched_pairs"] = int(pa.compute.sum(pairs["is_match"]).as_py() or 0) if pairs.num_rows else 0
    return MatchResult(pairs, evidence, summary, model, linker)


def _prior_from_trained_model(con, linker) -> dict:
    """The prior again, from the same deterministic rule (same first and last name - in either order -
    and date of birth) but at the recall the trained model gives it rather than an assumed one: among
    true matches carrying all three, the share that agree exactly on them is, under the model's own
    independence assumption, m(first name exact) x m(last name exact) x m(date of birth exact), plus
    the swapped names' share. prior = pairs the rule finds / that recall / pairs of records carrying
    the three fields. With no such pair (no date of birth in the data) the assumed recall stands.
    Returns what the summary says about it."""
    levels = {c.output_column_name: {lv.label_for_charts: lv for lv in c.comparison_levels}
              for c in linker._settings_obj.comparisons}

    def m(comparison: str, label: str) -> float | None:
        level = levels.get(comparison, {}).get(label)
        return level.m_probability if level is not None and level._m_is_trained else None

    exact = [m("first_name", "Exact match on first_name"), m("last_name", "Exact match on last_name")]
    swapped = [m("first_name", "swapped with last_name"), m("last_name", "swapped with first_name")]
    dob = m("date_of_birth", "Exact match on date_of_birth")
    present, agreeing = con.execute("""
        select coalesce(sum(n), 0), coalesce(sum(n * (n - 1) / 2), 0) from (
            select count(*) as n from match_records
            where first_name is not null and last_name is not null and date_of_birth is not null
            group by date_of_birth, least(first_name, last_name), greatest(first_name, last_name))""").fetchone()
    if None in exact or dob is None or not agreeing:
        return {"prior_from": "deterministic rules at the assumed recall (var identity_match_prior_recall)"}
    recall = dob * (exact[0] * exact[1] + (swapped[0] * swapped[1] if None not in swapped else 0.0))
    prior = min(agreeing / recall / (present * (present - 1) / 2), 0.5)
    linker._settings_obj._probability_two_random_records_match = prior
    return {"prior": prior, "prior_rule_recall": recall,
            "prior_from": "same names and date of birth, at the recall the trained model gives the rule"}


def _neutralize_unobserved_levels(linker, sampled_pairs: float) -> list[str]:
    """A level that training never saw would take Splink's default m, an arbitrary number.
    - m not trained (no EM pair fell in it: a swapped name in data without swaps): it weighs nothing
      (m = u), like a missing value;
    - m trained but u not observed (no random pair agreed that much: a full address): u is at most
      one in the pairs sampled, the bound Splink 2 used, so the level keeps a finite, positive weight.
    Returns '<comparison>: <level>' of the levels so set."""
    neutral = []
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if level.is_null_level or (level._m_is_trained and level._u_is_trained):
                continue
            if level._m_is_trained:
                level.u_probability = min(1.0 / max(sampled_pairs, 1.0), level.m_probability)
                neutral.append(f"{comparison.output_column_name}: {level.label_for_charts} (u bounded)")
                continue
            value = level.u_probability if level._u_is_trained else 0.5
            level.m_probability = level.u_probability = value
            neutral.append(f"{comparison.output_column_name}: {level.label_for_charts} (weight 0)")
    return neutral


def _fields_present(con) -> set[str]:
    """Compared fields with a value on at least two records (an empty field cannot be trained, and
    needs not be: it weighs nothing)."""
    present = set()
    for name in COMPARISON_NAMES:
        value = "coalesce(address, postcode, city)" if name == "location" else name
        if con.execute(f"select count({value}) >= 2 from match_records").fetchone()[0]:
            present.add(name)
    return present


def _level_labels(model: dict) -> dict[str, dict[int, str]]:
    """comparison -> gamma value -> the level's label (Splink numbers levels from the else level, 0, up)."""
    labels = {}
    for comparison in model["comparisons"]:
        levels = comparison["comparison_levels"]
        out, gamma = {}, len([lv for lv in levels if not lv.get("is_null_level")]) - 1
        for level in levels:
            if level.get("is_null_level"):
                out[-1] = "null"
                continue
            out[gamma] = level.get("label_for_charts") or level["sql_condition"]
            gamma -= 1
        labels[comparison["output_column_name"]] = out
    return labels


def _pairs(con, predictions: str, model: dict, threshold: float, prior: float) -> pa.Table:
    """Splink's predictions as int_identity_match_pairs' columns: per comparison the level's label and
    its match weight (log2 Bayes factor, term-frequency adjustment included) - the waterfall."""
    labels = _level_labels(model)
    cols = con.execute(f"select * from {predictions} limit 0").description
    names = {c[0] for c in cols}
    rule_names = list(BLOCKING_KEYS)
    parts = []
    for comp in COMPARISON_NAMES:
        whens = " ".join(f"when {g} then '{lbl.replace(chr(39), chr(39) * 2)}'" for g, lbl in labels[comp].items())
        parts.append(f"case gamma_{comp} {whens} end as {comp}_level")
        tf = f" + coalesce(mw_tf_adj_{comp}, 0.0)" if f"mw_tf_adj_{comp}" in names else ""
        parts.append(f"mw_{comp}{tf} as {comp}_weight")
    rule_case = " ".join(f"when '{i}' then '{r}'" for i, r in enumerate(rule_names))
    prior_weight = math.log2(prior / (1 - prior))
    return con.execute(f"""
        select
            p.record_key_l as record_key_left,
            p.record_key_r as record_key_right,
            case cast(p.match_key as varchar) {rule_case} end as blocking_rule,
            {", ".join(parts)},
            cast({prior_weight!r} as double) as prior_weight,
            p.match_weight,
            p.match_probability,
            p.match_probability >= {float(threshold)!r} as is_match
        from {predictions} as p
        inner join match_records as l on p.record_key_l = l.record_key
        inner join match_records as r on p.record_key_r = r.record_key
        where l.component <> r.component
        order by record_key_left, record_key_right
    """).to_arrow_table()


def _empty_pairs() -> pa.Table:
    fields = [("record_key_left", pa.string()), ("record_key_right", pa.string()), ("blocking_rule", pa.string())]
    for comp in COMPARISON_NAMES:
        fields += [(f"{comp}_level", pa.string()), (f"{comp}_weight", pa.float64())]
    fields += [("prior_weight", pa.float64()), ("match_weight", pa.float64()), ("match_probability", pa.float64()),
               ("is_match", pa.bool_())]
    return pa.table({n: pa.array([], type=t) for n, t in fields})


def reports_dir() -> Path:
    from orchestration import settings

    return settings.cdw_home() / "reports" / "identity"


def save_report(result: MatchResult, directory: Path | None = None) -> Path:
    """Keep the run's model and charts: <reports>/<UTC time>/model.json, summary.json and Splink's
    charts as offline HTML (match weights, m/u parameters, comparison levels' counts, the candidate
    pairs per blocking rule); <reports>/latest.json points at the newest. No person's data: model
    parameters and counts only."""
    base = directory or reports_dir()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    out = base / stamp
    out.mkdir(parents=True, exist_ok=True)
    charts: dict[str, str] = {}
    if result.model is not None:
        (out / "model.json").write_text(json.dumps(result.model, indent=2, default=str))
    if result.linker is not None:
        vis = result.linker.visualisations
        for name, make in (("match_weights", vis.match_weights_chart), ("m_u_parameters", vis.m_u_parameters_chart)):
            try:
                make().save_offline_chart(str(out / f"{name}.html"), overwrite=True, print_msg=False)
                charts[name] = str(out / f"{name}.html")
            except Exception as exc:  # a chart is a nicety: its failure is reported, not fatal
                charts[name] = f"not drawn: {type(exc).__name__}"
    if result.pairs.num_rows:
        charts["comparison_levels"] = str(_level_counts_html(result.pairs, out / "comparison_levels.html"))
    summary = {**result.summary, "evidence": result.evidence, "charts": charts, "report_dir": str(out),
               "model": str(out / "model.json") if result.model is not None else None}
    tmp = out / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=2, default=str))
    os.replace(tmp, out / "summary.json")
    latest = base / "latest.json.tmp"
    latest.write_text(json.dumps({"report_dir": str(out)}))
    os.replace(latest, base / "latest.json")
    return out


def _level_counts_html(pairs: pa.Table, path: Path) -> Path:
    """How many scored pairs fell in each comparison level, with the level's weight (a table)."""
    with duckdb.connect() as con:
        con.register("pairs", pairs)
        rows = []
        for comp in COMPARISON_NAMES:
            rows += con.execute(f"""select '{comp}', {comp}_level, count(*), round(avg({comp}_weight), 2),
                                           count(*) filter (where is_match)
                                    from pairs group by all order by 3 desc""").fetchall()
    body = "".join(f"<tr><td>{c}</td><td>{lv}</td><td>{n}</td><td>{w}</td><td>{m}</td></tr>" for c, lv, n, w, m in rows)
    path.write_text("<html><head><meta charset='utf-8'><title>Comparison levels</title></head><body>"
                    "<h1>Scored pairs per comparison level</h1><table border='1'>"
                    "<tr><th>comparison</th><th>level</th><th>pairs</th><th>mean weight</th><th>matched</th></tr>"
                    f"{body}</table></body></html>")
    return path


def latest_report() -> dict | None:
    """The newest run's summary.json (None before the first run)."""
    pointer = reports_dir() / "latest.json"
    if not pointer.exists():
        return None
    summary = Path(json.loads(pointer.read_text())["report_dir"]) / "summary.json"
    return json.loads(summary.read_text()) if summary.exists() else None
