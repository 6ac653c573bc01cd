"""Field checks of a source contract, as SQL over one row's text: what the loader, `cdw check`
and the raw gate (data_quality/raw_contract.py) all judge a value by.

For every field the contract types, bounds, restricts (`allowed`) or matches (`patterns`):
  canonical(v)  the value as raw stores it (dates as ISO YYYY-MM-DD, others as written, trimmed)
  issue(v)      why the value is not acceptable (NULL when it is): malformed, implausible
                (outside its bounds, in the future), not allowed, too long
An issue on a required field rejects the row; on any other field it is a *field issue*: the
field is loaded as NULL and the row is kept (loader.py records it in quarantine.field_issues).

Reasons never contain the value. A field issue keeps the value's *shape* for personal-data
fields (`masked_sql`: digits -> 9, letters -> A/a, 40 characters at most) and the value itself,
cut to 60 characters, for the rest (an amount of 1e400, a stage name).

Emails are judged by email-validator (syntax and RFC lengths, no DNS lookups). Validating
millions of addresses one by one in Python would dominate a large load, so a strict pattern that
only matches plain addresses email-validator accepts (checked against it in
tests/test_field_issues.py) clears most values in SQL, and only the rest - internationalized,
quoted, odd or broken addresses - goes to email-validator, each distinct value once.
"""

from __future__ import annotations

from datetime import date, datetime

from orchestration.extract.contracts import DATE_FORMATS, SourceContract

MAX_FIELD_CHARS = 64 * 1024  # a value longer than this is a broken export, not a value
MAX_ID_CHARS = 255
FUTURE_TOLERANCE = "INTERVAL 2 DAY"  # clock skew allowed before a date counts as "in the future"
# C0 and C1 control characters except tab, line feed and carriage return (a multi-line address
# is a value), and DEL; NUL included
CONTROL_CHARS = r"[\x{0}-\x{8}\x{B}\x{C}\x{E}-\x{1F}\x{7F}-\x{9F}]"
# what may be all that is left of a value that is then no value at all
INVISIBLE_ONLY = r"[\s\x{200B}-\x{200D}\x{2060}\x{FEFF}]*"
# plain addresses (ASCII dot-atom local part, LDH domain labels, alphabetic TLD) that
# email-validator accepts; lengths and special-use domains are checked beside it
PLAIN_EMAIL = (r"[A-Za-z0-9_%+\-]+(\.[A-Za-z0-9_%+\-]+)*"
               r"@([A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
# email-validator refuses these top-level domains (RFC 6761 special-use names)
SPECIAL_USE_TLDS = ("arpa", "invalid", "local", "localhost", "onion", "test")
# digits and the punctuation phone numbers are written with, an optional extension
PHONE = r"\+?[0-9 ().\-/]*[0-9][0-9 ().\-/]*(\s*(x|ext\.?|extension)\s*[0-9]{1,6})?"
ALL_PLAIN = "all plain"  # email_verdicts when every address of a batch matched the plain pattern
BOOLEAN_SPELLINGS = ("true", "false", "t", "f", "yes", "no", "y", "n", "1", "0")  # staging's to_boolean


def lit(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def clean_text_sql(col: str) -> str:
    """A text value without control characters; NULL when nothing but blanks / zero-width
    characters is left (or it was empty). Untouched (one regex test) when it is clean."""
    stripped = f"regexp_replace({col}, {lit(CONTROL_CHARS)}, '', 'g')"
    suspicious = CONTROL_CHARS[:-1] + r"\x{200B}-\x{200D}\x{2060}\x{FEFF}]"
    return (f"CASE WHEN {col} = '' THEN NULL WHEN regexp_matches({col}, {lit(suspicious)}) THEN "
            f"CASE WHEN regexp_full_match({stripped}, {lit(INVISIBLE_ONLY)}) THEN NULL ELSE {stripped} END "
            f"ELSE {col} END")


def _bound(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _parsed_date_sql(t: str, fmt: str | None, typ: str) -> str:
    if fmt is None:
        return f"try_cast({t} AS {'DATE' if typ == 'date' else 'TIMESTAMP'})"
    if typ == "date":
        return f"try_strptime({t}, {lit(fmt)})::DATE"
    return f"try_strptime({t}, [{lit(fmt + ' %H:%M:%S')}, {lit(fmt + ' %H:%M')}, {lit(fmt)}])"


def field_sql(contract: SourceContract, name: str, v: str, email_verdicts: str | None = None) -> tuple[str, str]:
    """(canonical SQL, issue SQL) of field `name` whose cleaned text is the SQL `v`.

    `email_verdicts`: a table (value, problem) holding email-validator's verdict on the values the
    plain pattern does not clear (the loader fills it; ALL_PLAIN when there were none); None
    checks only the RFC length and the @ (the gate, over raw values the loader let through)."""
    typ = contract.types.get(name)
    t = f"trim({v})"
    canonical = f"nullif({t}, '')" if typ else v
    issues: list[tuple[str, str]] = [(f"length({v}) > {MAX_FIELD_CHARS}", f"'too long: ' || length({v}) || ' characters'")]
    lo, hi = (_bound(b) for b in contract.bounds_of(name))
    if typ == "id":
        issues.append((f"length({t}) > {MAX_ID_CHARS}", lit(f"longer than {MAX_ID_CHARS} characters")))
    elif typ in ("date", "timestamp"):
        fmt_name = contract.formats.get(name, "ISO")
        parsed = _parsed_date_sql(t, DATE_FORMATS[fmt_name], typ)
        cast = "DATE" if typ == "date" else "TIMESTAMP"
        future = ""
        if name in contract.past_only:
            now = "current_date" if typ == "date" else "now()::TIMESTAMP"
            future = f" WHEN p > {now} + {FUTURE_TOLERANCE} THEN {lit('implausible: in the future')}"
        # parsed once (bound to p), however many bounds it is held against
        issues.append((f"{t} <> ''", f"list_transform([{parsed}], p -> CASE WHEN p IS NULL THEN {lit(f'not a valid {typ} ({fmt_name})')} "
                                      f"WHEN p < {lit(lo)}::{cast} THEN {lit(f'implausible: before {lo}')} "
                                      f"WHEN p > {lit(hi)}::{cast} THEN {lit(f'implausible: after {hi}')}{future} END)[1]"))
        if fmt_name != "ISO":
            canonical = f"strftime({parsed}, {lit('%Y-%m-%d' if typ == 'date' else '%Y-%m-%dT%H:%M:%S')})"
        elif typ == "date":
            canonical = f"strftime({parsed}, '%Y-%m-%d')"
    elif typ in ("number", "integer"):
        parsed = f"try_cast({t} AS {'DOUBLE' if typ == 'number' else 'BIGINT'})"
        finite = ""
        if typ == "number":
            # staging casts amounts to DECIMAL(18, 2): a value it cannot hold never reaches it
            finite = (f" WHEN NOT isfinite(p) THEN {lit('not a finite number')} "
                      f"WHEN try_cast(p AS DECIMAL(18, 2)) IS NULL THEN {lit('out of range for DECIMAL(18,2)')}")
        issues.append((f"{t} <> ''", f"list_transform([{parsed}], p -> CASE WHEN p IS NULL THEN "
                                      f"{lit('not a number' if typ == 'number' else 'not an integer')}{finite} "
                                      f"WHEN p < {lo} THEN {lit(f'implausible: below {lo}')} "
                                      f"WHEN p > {hi} THEN {lit(f'implausible: above {hi}')} END)[1]"))
    elif typ == "boolean":
        issues.append((f"lower({t}) NOT IN ({', '.join(lit(b) for b in BOOLEAN_SPELLINGS)})", lit("not a boolean")))
    elif typ == "email":
        if email_verdicts == ALL_PLAIN:  # every address of the batch is plain: nothing to look up
            pass
        elif email_verdicts:  # email-validator's verdict on every address the plain pattern did not clear
            issues.append((f"{t} <> ''", f"nullif((SELECT problem FROM {email_verdicts} WHERE value = {t}), '')"))
        else:  # raw already holds only addresses email-validator accepted: their RFC lengths
            issues.append((f"NOT (contains({t}, '@') AND length({t}) <= 254)", lit("not a valid email address")))
    elif typ == "phone":
        issues.append((f"NOT regexp_full_match(lower({t}), {lit(PHONE)})", lit("not a phone number")))
        issues.append((f"length(regexp_replace({t}, '[^0-9]', '', 'g')) NOT BETWEEN 3 AND 20",
                       lit("not a phone number (3 to 20 digits)")))
    if name in contract.patterns:
        issues.append((f"NOT regexp_full_match({t}, {lit(contract.patterns[name])})", lit("does not match the field's pattern")))
    if name in contract.allowed:
        values = ", ".join(lit(x.lower()) for x in contract.allowed[name])
        issues.append((f"lower({t}) NOT IN ({values})", lit("not an allowed value")))
    # the first problem found (a check that finds none gives NULL and the next one is asked)
    found = ", ".join(f"CASE WHEN {cond} THEN {reason} END" for cond, reason in issues)
    issue = f"CASE WHEN {v} IS NOT NULL THEN coalesce({found}) END"
    return canonical, issue


def plain_email_sql(t: str) -> str:
    """SQL true for a plain address email-validator accepts (the rest goes to email-validator)."""
    return (f"(regexp_full_match({t}, {lit(PLAIN_EMAIL)}) AND length({t}) <= 254 "
            f"AND length(split_part({t}, '@', 1)) <= 64 "
            f"AND lower(regexp_extract({t}, '[^.]+$')) NOT IN ({', '.join(lit(x) for x in SPECIAL_USE_TLDS)}))")


def checked_fields(contract: SourceContract) -> list[str]:
    """Fields with a check beyond 'is text' (in contract order)."""
    names = [*contract.columns, *contract.required, *contract.types, *contract.allowed, *contract.patterns]
    return [n for n in dict.fromkeys(names) if n in contract.types or n in contract.allowed or n in contract.patterns]


def masked_sql(v: str) -> str:
    """The shape of a personal value (digits 9, letters A/a, other characters kept), 40 chars at most."""
    shape = f"regexp_replace(regexp_replace(regexp_replace(left({v}, 40), '[0-9]', '9', 'g'), '\\p{{Lu}}', 'A', 'g'), '\\p{{L}}', 'a', 'g')"
    return f"{shape} || CASE WHEN length({v}) > 40 THEN '… (' || length({v}) || ' characters)' ELSE '' END"


def shown_value_sql(contract: SourceContract, name: str, v: str) -> str:
    if name in contract.masked_fields:
        return masked_sql(v)
    return f"left({v}, 60) || CASE WHEN length({v}) > 60 THEN '… (' || length({v}) || ' characters)' ELSE '' END"


def email_problems(values: list[str]) -> list[tuple[str, str]]:
    """(value, problem) for each address email-validator refuses ('' for one it accepts)."""
    from email_validator import EmailNotValidError, validate_email

    out = []
    for value in values:
        try:
            validate_email(value, check_deliverability=False)
            out.append((value, ""))
        except EmailNotValidError as exc:
            # the library's reason, without the characters it quotes from the address
            reason = str(exc).split(":")[0].rstrip(".")
            out.append((value, f"not a valid email address ({reason})"))
    return out
