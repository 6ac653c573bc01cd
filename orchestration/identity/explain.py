"""`cdw explain <email|phone|customer_id>`: why a person is who they are.

Prints the customer(s) the value leads to, each one's source records, the identifiers that
joined them (deterministic edges), the probabilistic matches (the waterfall of Splink's match
weights: prior, then every comparison's level and weight), what the guardrails refused
(suppressed identifiers, below-threshold pairs) and the merges logged for the id. Read-only.
"""

from __future__ import annotations

from orchestration.identifiers import email as emails
from orchestration.identifiers.phone import to_e164


def _email_key(value: str) -> str:
    """The email node identity made of this address (orchestration/identifiers/email.py)."""
    return emails.match_key(emails.normalize(value) or value.strip().lower())


def find_customers(con, value: str) -> tuple[str, list[str]]:
    """(how the value was read, customer ids it leads to)."""
    value = value.strip()
    if value.startswith("cus_"):
        ids = [r[0] for r in con.execute(
            "select distinct customer_id from intermediate.int_identity_components where customer_id = ?", [value]).fetchall()]
        if not ids:  # an id merged away: follow the log
            ids = [r[0] for r in con.execute(
                "select new_customer_id from identity_registry.customer_merges where old_customer_id = ? "
                "order by run desc limit 1", [value]).fetchall()]
            if ids:
                return f"customer_id {value} (merged into {ids[0]})", ids
        return f"customer_id {value}", ids
    if "@" in value:
        key = _email_key(value)
        node = f"email:{key}"
        how = f"email match key {key}"
    else:
        e164 = to_e164(value)
        if e164 is None:
            return f"'{value}' is neither an email, a valid phone number nor a customer_id", []
        node = f"phone:{e164}"
        how = f"phone {e164}"
    ids = [r[0] for r in con.execute("""
        select distinct c.customer_id
        from intermediate.int_identity_record_identifiers as i
        inner join intermediate.int_identity_components as c on i.record_key = c.record_key
        where i.identifier_node = ? order by 1""", [node]).fetchall()]
    return how, ids


def explain_customer(con, customer_id: str) -> list[str]:
    out = [f"customer {customer_id}"]
    golden = con.execute("""select first_name, last_name, email, phone, company_name, account_id, source_record_count
                            from marts.customers where customer_id = ?""", [customer_id]).fetchone()
    if golden:
        out.append(f"  golden record: {golden[0] or ''} {golden[1] or ''} <{golden[2] or ''}> {golden[3] or ''} "
                   f"company={golden[4] or '-'} account={golden[5] or '-'} records={golden[6]}")
    records = con.execute("""
        select r.record_key, r.first_name, r.last_name, r.email, r.phone, r.company_name
        from intermediate.int_identity_components as c
        inner join intermediate.int_identity_records as r on c.record_key = r.record_key
        where c.customer_id = ? order by r.record_key""", [customer_id]).fetchall()
    out.append(f"  records ({len(records)}):")
    for key, first, last, email, phone, company in records:
        out.append(f"    {key:<55} {first or ''} {last or ''} | {email or '-'} | {phone or '-'} | {company or '-'}")
    keys = [r[0] for r in records]
    edges = con.execute("""
        select identifier_node, list(record_key order by record_key)
        from intermediate.int_identity_edges where record_key in (select unnest(?))
        group by identifier_node order by identifier_node""", [keys]).fetchall()
    out.append("  joined by identifiers (deterministic edges):")
    shown = False
    for node, members in edges:
        if len(members) > 1:
            out.append(f"    {node}: {', '.join(members)}")
            shown = True
    if not shown:
        out.append("    none shared")
    pairs = con.execute("""
        select * from intermediate.int_identity_match_pairs
        where record_key_left in (select unnest(?)) or record_key_right in (select unnest(?))
        order by match_probability desc""", [keys, keys]).df().to_dict("records")
    matched = [p for p in pairs if p["is_match"]]
    refused = [p for p in pairs if not p["is_match"]]
    out.append("  joined by probabilistic matches (Splink; the waterfall of match weights, in bits):")
    for p in matched:
        out += _waterfall(p)
    if not matched:
        out.append("    none")
    out.append("  refused by guardrails:")
    suppressed = con.execute("""
        select identifier_node, suppression_reason, records_sharing_identifier, list(record_key order by record_key)
        from intermediate.int_identity_record_identifiers
        where record_key in (select unnest(?)) and not is_usable
        group by all order by 1""", [keys]).fetchall()
    for node, reason, sharing, members in suppressed:
        out.append(f"    {node} on {', '.join(members)}: {reason} ({sharing} records carry it)")
    for p in refused:
        out += _waterfall(p, "below the match threshold")
    if not suppressed and not refused:
        out.append("    nothing")
    try:
        merges = con.execute("""select run, old_customer_id, new_customer_id, reason from identity_registry.customer_merges
                                where old_customer_id = ? or new_customer_id = ? order by run""",
                             [customer_id, customer_id]).fetchall()
    except Exception:  # no registry yet
        merges = []
    if merges:
        out.append("  merges:")
        for run, old, new, reason in merges:
            out.append(f"    run {run}: {old} -> {new} ({reason})")
    return out


def _waterfall(pair: dict, why: str | None = None) -> list[str]:
    """A pair's match weight, term by term: prior, then each comparison's level and weight (bits)."""
    from orchestration.identity.matching import COMPARISON_NAMES

    head = (f"    {pair['record_key_left']} ~ {pair['record_key_right']}  p={pair['match_probability']:.6f} "
            f"weight={pair['match_weight']:+.2f} (block {pair['blocking_rule']})" + (f": {why}" if why else ""))
    lines, total = [head, f"      {'prior':<16} {pair['prior_weight']:+7.2f}"], pair["prior_weight"]
    for name in COMPARISON_NAMES:
        weight = pair[f"{name}_weight"] or 0.0
        total += weight
        lines.append(f"      {name:<16} {weight:+7.2f}  {pair[f'{name}_level']}")
    lines.append(f"      {'= match weight':<16} {total:+7.2f}")
    return lines


def explain(con, value: str) -> tuple[bool, list[str]]:
    how, ids = find_customers(con, value)
    if not ids:
        return False, [f"nothing found for {how}"]
    lines = [f"{how} -> {len(ids)} customer(s)"]
    for customer_id in ids:
        lines += [""] + explain_customer(con, customer_id)
    return True, lines
