"""Load landing files into `raw.*`, row by row against the source contract.

Guarantees, per file and in one transaction:
  rows read = rows loaded (raw.<source>) + rows rejected (quarantine.rejected_rows)
              + exact duplicate rows skipped (counted in raw._load_log.rows_duplicate)
and beside them the *field issues* (quarantine.field_issues, counted in raw._load_log): an
optional field that is malformed or implausible (fields.py) is loaded as NULL and the row is
kept. Only a row without its record id (a required field), with a required field that breaks
its type, or one that cannot be parsed at all is rejected whole. A duplicate is only a row that
passes the contract: identical garbage lines are each a rejected row.

A file already loaded (same source, same sha256, whatever its name) is skipped and counted, so
re-running extraction or a duplicate delivery adds nothing; a re-delivered file (same path, new
content) replaces its earlier rows in raw and its quarantine rows. A file that cannot be read as
its contract says (missing required columns, not UTF-8, unreadable) is refused: nothing of it is
loaded, the load log says which file, which line and what is wrong - never a value of a row -
and the refusal is logged once, not on every run, until the file changes.

Only files that stopped changing are read: unchanged size and mtime for the settle interval
(CDW_LANDING_SETTLE_SECONDS, default 2; a file still being written waits for the next run), or,
for a source with a `done_marker`, once `<file><marker>` exists. A symbolic link, or a path that
resolves outside the landing folder, is never read (refused, logged once).

Every non-blank physical line is accounted for: DuckDB's CSV reader does the work when it
parses one row per line with nothing rejected (checked against a line count); otherwise the
file is re-read line by line in Python, so an unterminated quote or a bad byte costs one
quarantined line, not the rest of the file, and `_line` stays the physical line number.
Headers are mapped to contract fields by the source's `mapping` / preset (contracts.py), and
`check_file` runs the same validation without loading anything (`cdw check`).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
import time
import uuid
import zlib
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from orchestration import partitions, settings
from orchestration.extract import fields as checks
from orchestration.extract.contracts import SourceContract, contracts
from orchestration.extract.fields import MAX_FIELD_CHARS, lit

LINEAGE_COLUMNS = ("_file", "_line", "_load_id", "_loaded_at")
DAY_COLUMN = "_delivery_day"  # partitioned sources only: the partition day of the row's file
EVENT_TIME_COLUMN = "_event_at"  # sources with a retention: the row's `retention.by` time, typed
MAX_LINE_BYTES = 32 * 1024 * 1024
RECORD_SAMPLE_CHARS = 4000  # quarantine keeps the start of an offending record, not megabytes
MAX_JSON_LINE_CHARS = 1024 * 1024  # a JSON event longer than this is quarantined
MAX_RECORD_LINES = 1000  # a quoted CSV value spanning more physical lines is an unterminated quote
DEFAULT_SETTLE_SECONDS = 2.0


def settle_seconds() -> float:
    """How long a file's size and mtime must stay unchanged before it is read."""
    value = os.environ.get("CDW_LANDING_SETTLE_SECONDS", "").strip()
    try:
        return max(0.0, float(value)) if value else DEFAULT_SETTLE_SECONDS
    except ValueError:
        raise ValueError(f"CDW_LANDING_SETTLE_SECONDS={value!r} is not a number of seconds") from None


@dataclass
class FileLoad:
    file: str
    # loaded | unchanged (already loaded) | duplicate (same content, other name) | refused |
    # pending (still being written / no done-marker yet: read by a later run)
    status: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0  # rejected rows (quarantine.rejected_rows)
    rows_duplicate: int = 0  # exact copies of an earlier passing row of the same file: skipped, counted
    field_issues: int = 0  # fields loaded as NULL (quarantine.field_issues), counted beside the rows
    rows_with_field_issues: int = 0
    message: str = ""
    replaced: bool = False  # the file was loaded before with other content: its old rows are gone
    issues_by_column: dict = field(default_factory=dict)  # column -> {reason: count}
    rejects_by_reason: dict = field(default_factory=dict)  # reason -> count
    unmapped_columns: list = field(default_factory=list)  # file headers no contract field reads
    missing_columns: list = field(default_factory=list)  # contract fields the file has no column for


@dataclass
class SourceLoad:
    source: str
    files: list[FileLoad] = field(default_factory=list)

    def total(self, attr: str) -> int:
        return sum(getattr(f, attr) for f in self.files)

    def count(self, status: str) -> int:
        return sum(1 for f in self.files if f.status == status)

    def summary(self) -> dict:
        return {
            "files_loaded": self.count("loaded"),
            "files_unchanged": self.count("unchanged"),
            "files_skipped_duplicate": self.count("duplicate"),
            "files_refused": self.count("refused"),
            "files_pending": self.count("pending"),
            "rows_read": self.total("rows_read"),
            "rows_loaded": self.total("rows_loaded"),
            "rows_quarantined": self.total("rows_quarantined"),
            "rows_duplicate_skipped": self.total("rows_duplicate"),
            "field_issues": self.total("field_issues"),
        }


def q(ident: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + ident.replace('"', '""') + '"'


def ensure_schemas(con: duckdb.DuckDBPyConnection) -> None:
    for schema in ("raw", "quarantine"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS raw._load_log (
            load_id VARCHAR, source VARCHAR, file VARCHAR, sha256 VARCHAR, bytes BIGINT,
            status VARCHAR, rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT,
            message VARCHAR, loaded_at TIMESTAMP, rows_duplicate BIGINT DEFAULT 0)
        """
    )
    # logs written before duplicate lines / field issues were counted: evolve
    con.execute("ALTER TABLE raw._load_log ADD COLUMN IF NOT EXISTS rows_duplicate BIGINT DEFAULT 0")
    con.execute("ALTER TABLE raw._load_log ADD COLUMN IF NOT EXISTS field_issues BIGINT DEFAULT 0")
    con.execute("ALTER TABLE raw._load_log ADD COLUMN IF NOT EXISTS rows_with_field_issues BIGINT DEFAULT 0")
    # set when the file left landing: the gate no longer judges that delivery (its rows stay)
    con.execute("ALTER TABLE raw._load_log ADD COLUMN IF NOT EXISTS removed_at TIMESTAMP")
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS quarantine.field_issues (
            source VARCHAR, _file VARCHAR, _line BIGINT, column_name VARCHAR, reason VARCHAR,
            value VARCHAR, _load_id VARCHAR, _loaded_at TIMESTAMP)
        """
    )
    con.execute(
        """
        CREATE TABLE IF NOT EXISTS quarantine.rejected_rows (
            source VARCHAR, _file VARCHAR, _line BIGINT, reason VARCHAR, record VARCHAR,
            _load_id VARCHAR, _loaded_at TIMESTAMP)
        """
    )


def raw_columns(contract: SourceContract) -> tuple[str, ...]:
    return contract.columns if contract.format == "csv" else ("payload",)


def event_time_sql(contract: SourceContract) -> str | None:
    """SQL of a raw row's event time (the contract's `retention.by` field), over its raw columns."""
    if contract.retention_by is None:
        return None
    field_ = (f"json_extract_string(payload, {lit('$.' + contract.retention_by)})" if contract.format == "jsonl"
              else q(contract.retention_by))
    return f"try_cast({field_} AS TIMESTAMPTZ)"


def ensure_raw_table(con: duckdb.DuckDBPyConnection, contract: SourceContract) -> None:
    cols = [f"{q(c)} VARCHAR" for c in raw_columns(contract)]
    cols += ["_file VARCHAR", "_line BIGINT", "_load_id VARCHAR", "_loaded_at TIMESTAMP"]
    con.execute(f"CREATE TABLE IF NOT EXISTS {contract.table} ({', '.join(cols)})")
    existing = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema='raw' AND table_name=?",
            [contract.name],
        ).fetchall()
    }
    for c in raw_columns(contract):  # a column added to the contract later: evolve the table
        if c not in existing:
            con.execute(f"ALTER TABLE {contract.table} ADD COLUMN {q(c)} VARCHAR")
    if contract.partitioned and DAY_COLUMN not in existing:
        # the partition day of each row (its file's delivery day), for per-day dbt models
        con.execute(f"ALTER TABLE {contract.table} ADD COLUMN {DAY_COLUMN} DATE")
        con.execute(  # rows loaded before the source was partitioned: the date in their file name
            f"UPDATE {contract.table} SET {DAY_COLUMN} = coalesce("
            f"try_strptime(regexp_extract(_file, '\\d{{4}}-\\d{{2}}-\\d{{2}}'), '%Y-%m-%d')::DATE, _loaded_at::DATE)")
    if contract.retention_by and EVENT_TIME_COLUMN not in existing:
        # the event time retention measures age by, typed at load (rows loaded before the column existed: here, once)
        con.execute(f"ALTER TABLE {contract.table} ADD COLUMN {EVENT_TIME_COLUMN} TIMESTAMPTZ")
        con.execute(f"UPDATE {contract.table} SET {EVENT_TIME_COLUMN} = {event_time_sql(contract)}")


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


class RefusedFile(Exception):
    pass


def _read_csv_header(path: Path) -> list[str]:
    """The header row. Messages never quote it: in a file without a header line it is a person's row."""
    try:
        first_raw = next(iter(_physical_lines(path)), (1, b""))[1]
    except OSError as exc:
        raise RefusedFile(f"line 1: cannot read file ({exc.strerror or type(exc).__name__})") from None
    first, problem = _decode(1, first_raw)
    if problem:
        raise RefusedFile(f"line 1: header is {problem}")
    if not first.strip():
        raise RefusedFile("line 1: empty file, no header")
    return [h.strip() for h in next(csv.reader([first]))]


def _map_header(contract: SourceContract, header: list[str]) -> tuple[dict[str, str], list[str], list[str]]:
    """(field -> header, unmapped headers, missing fields); refuses a header the contract cannot
    read, naming contract fields and column positions only."""
    known = {c.lower() for c in contract.columns} | {m.lower() for m in contract.mapping}
    dupes = sorted({i + 1 for i, h in enumerate(header) if [x.lower() for x in header].count(h.lower()) > 1})
    if dupes:
        named = sorted({header[i - 1] for i in dupes if header[i - 1].lower() in known})
        raise RefusedFile(f"line 1: duplicate header columns at positions {dupes}"
                          + (f" ({named})" if named else ""))
    by_field = contract.header_map(header)
    missing_required = [c for c in contract.required if c not in by_field]
    if missing_required:
        matched = len(by_field)
        raise RefusedFile(
            f"line 1: missing required column(s) {missing_required}; {matched} of the header's "
            f"{len(header)} columns match the contract (a file without a header line, another "
            f"delimiter, or an export that needs a mapping: cdw check FILE --source {contract.name} --preset ...)")
    used = set(by_field.values())
    unmapped = [h for h in header if h not in used]
    missing = [c for c in contract.columns if c not in by_field]
    return by_field, unmapped, missing


def _stage_csv(con, contract: SourceContract, path: Path, result: FileLoad) -> int:
    """Read a CSV into temp table _parsed(_line, <contract cols>) and _parse_rejects; returns the
    number of parse rejects. The header is mapped to contract fields (mapping / preset)."""
    header = _read_csv_header(path)
    by_field, result.unmapped_columns, result.missing_columns = _map_header(contract, header)
    columns = "{" + ", ".join(f"{lit(f'c{i}')}: 'VARCHAR'" for i in range(len(header))) + "}"
    position = {h: i for i, h in enumerate(header)}
    select_cols = ", ".join(
        f"{q(f'c{position[by_field[c]]}')} AS {q(c)}" if c in by_field else f"NULL::VARCHAR AS {q(c)}"
        for c in contract.columns
    )
    con.execute("DROP TABLE IF EXISTS _rejects; DROP TABLE IF EXISTS _reject_scans")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _parsed AS
        SELECT row_number() OVER () + 1 AS _line, {select_cols}
        FROM read_csv(?, header=true, auto_detect=false, columns={columns}, delim=',', quote='"',
                      escape='"', store_rejects=true, rejects_table='_rejects',
                      rejects_scan='_reject_scans', max_line_size={MAX_LINE_BYTES})
        """,
        [str(path)],
    )
    if not _fast_parse_is_exact(con, path):
        # DuckDB's reader rejected something or rows span lines: its row numbers are no longer
        # physical lines, and an unterminated quote swallows the rest of the file. Re-read the
        # file line by line so every physical line is accounted for.
        _parse_csv_by_lines(con, path, len(header), select_cols)
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _parse_rejects (_line BIGINT, _reason VARCHAR, _record VARCHAR)")
    return con.execute("SELECT count(*) FROM _parse_rejects").fetchone()[0]


def _email_verdicts(con, contract: SourceContract, fields_of: dict[str, str], table: str) -> str | None:
    """Fill temp table _email_verdicts(value, problem) with email-validator's verdict on every
    distinct address of `table` the plain pattern does not clear (problem NULL: valid); its name,
    ALL_PLAIN when every address was plain, None without email fields."""
    emails = [f for f in checks.checked_fields(contract) if contract.types.get(f) == "email"]
    if not emails:
        return None
    con.execute("CREATE OR REPLACE TEMP TABLE _email_verdicts (value VARCHAR, problem VARCHAR)")
    pending = []
    for f in emails:
        t = f"trim({fields_of[f]})"
        pending.append(f"SELECT {t} AS value FROM {table} WHERE {t} <> '' AND NOT {checks.plain_email_sql(t)}")
    values = [v for (v,) in con.execute(f"SELECT DISTINCT value FROM ({' UNION ALL '.join(pending)})").fetchall()]
    if not values:
        return checks.ALL_PLAIN
    if values:
        import pyarrow as pa

        verdicts = checks.email_problems(values)
        con.register("_py_verdicts", pa.table({"value": [v for v, _ in verdicts], "problem": [p for _, p in verdicts]}))
        try:
            con.execute("INSERT INTO _email_verdicts SELECT * FROM _py_verdicts")
        finally:
            con.unregister("_py_verdicts")
    return "_email_verdicts"


def _check_rows(con, contract: SourceContract, parsed: str) -> None:
    """`parsed` (+ _parse_rejects) -> _batch: per row the cleaned, canonical values (a field with
    an issue NULL), `_reason` (non-empty: the row is rejected), `_record` (rejected rows only) and
    `_issues` (list of (column, reason, value) structs: the field issues of a kept row)."""
    csv_format = contract.format == "csv"
    if csv_format:
        fields_ = list(contract.columns)
        source_sql = {c: q(c) for c in fields_}
    else:  # jsonl: the fields the contract checks, extracted in one pass over the document
        fields_ = _jsonl_fields(contract)
        source_sql = {c: f"_fields[{i + 1}]" for i, c in enumerate(fields_)}
    cleaned = ", ".join(f"{checks.clean_text_sql(source_sql[c])} AS {q(c)}" for c in fields_)
    keep = "_line" if csv_format else "_line, payload, _parse_reason"
    # views: the cleaning and the checks are computed once, in the one table _batch materializes
    con.execute(f"CREATE OR REPLACE TEMP VIEW _cleaned AS SELECT {keep}{', ' if cleaned else ''}{cleaned} FROM {parsed}")
    verdicts = _email_verdicts(con, contract, {c: q(c) for c in fields_}, "_cleaned")
    checked = checks.checked_fields(contract)
    parts, canon, issue_of = [], {}, {}
    for c in checked:
        canon[c], issue_of[c] = checks.field_sql(contract, c, q(c), verdicts)
        parts.append(f"{issue_of[c]} AS {q('_issue_' + c)}")
    for c in fields_:
        if c not in checked:  # untyped text: only its length is checked
            issue_of[c] = f"CASE WHEN length({q(c)}) > {MAX_FIELD_CHARS} THEN 'too long: ' || length({q(c)}) || ' characters' END"
            parts.append(f"{issue_of[c]} AS {q('_issue_' + c)}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _checked AS SELECT *{', ' if parts else ''}{', '.join(parts)} FROM _cleaned")

    def issue(c: str) -> str:
        return q("_issue_" + c)

    required = set(contract.required)
    reasons = [] if csv_format else ["_parse_reason"]
    for c in contract.required:
        reasons.append(f"CASE WHEN {q(c)} IS NULL OR trim({q(c)}) = '' THEN {lit('missing required field ' + c)} "
                       f"WHEN {issue(c)} IS NOT NULL THEN {lit(c + ': ')} || {issue(c)} END")
    for group in contract.required_any:
        cond = " AND ".join(f"coalesce(trim({q(c)}), '') = ''" for c in group)
        reasons.append(f"CASE WHEN {cond} THEN {lit('needs one of ' + ', '.join(group))} END")
    reason_sql = "concat_ws('; ', " + ", ".join(reasons or ["NULL"]) + ")"
    optional = [c for c in fields_ if c not in required]
    # built (and values masked) only for the rare row that has an issue
    issues_sql = ("CASE WHEN " + " AND ".join(f"{issue(c)} IS NULL" for c in optional) + " THEN [] ELSE list_filter(["
                  + ", ".join(f"{{'column_name': {lit(c)}, 'reason': {issue(c)}, 'value': CASE WHEN {issue(c)} IS NOT NULL "
                              f"THEN {checks.shown_value_sql(contract, c, q(c))} END}}" for c in optional)
                  + "], x -> x.reason IS NOT NULL) END") if optional else "[]"
    if csv_format:
        values = ", ".join(
            (f"CASE WHEN {issue(c)} IS NULL THEN {canon[c]} END" if c in canon
             else f"CASE WHEN {issue(c)} IS NULL THEN {q(c)} END") + f" AS {q(c)}"
            for c in fields_)
        record = "to_json(struct_pack(" + ", ".join(f"{q(c)} := {q(c)}" for c in fields_) + "))"
    else:
        # a field with an issue leaves the document (a JSON merge patch with null removes a key)
        values = "payload"
        for c in optional:
            patch = "null"
            for part in reversed(c.split(".")):
                patch = '{"' + part.replace('"', '\\"') + '":' + patch + "}"
            values = f"CASE WHEN {issue(c)} IS NULL THEN {values} ELSE json_merge_patch({values}, {lit(patch)})::VARCHAR END"
        values += " AS payload"
        if contract.retention_by:  # the retention time, typed from the fields already extracted
            values += f", try_cast({q(contract.retention_by)} AS TIMESTAMPTZ) AS {EVENT_TIME_COLUMN}"
        record = "payload"
        reason_sql = f"coalesce(_parse_reason, {reason_sql})"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _batch AS
        SELECT _line, {values}, _reason, CASE WHEN _reason <> '' THEN {record} END AS _record,
               CASE WHEN _reason = '' THEN {issues_sql} ELSE [] END AS _issues
        FROM (SELECT *, {reason_sql} AS _reason FROM _checked)
        """
    )


def _rejected_any(con, table: str) -> bool:
    """Whether a reader's rejects table holds a row (DuckDB does not always create it)."""
    if not con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = ?", [table]).fetchone():
        return False
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0


def _fast_parse_is_exact(con, path: Path) -> bool:
    """True when DuckDB parsed one row per physical line after the header (nothing rejected,
    no blank lines, no value spanning lines), so row_number() + 1 is each row's physical line."""
    if _rejected_any(con, "_rejects"):
        return False
    con.execute("DROP TABLE IF EXISTS _line_rejects; DROP TABLE IF EXISTS _line_reject_scans")
    lines, blank = con.execute(
        f"""
        SELECT count(*), count(*) FILTER (WHERE line IS NULL OR trim(line) = '')
        FROM read_csv(?, columns={{'line': 'VARCHAR'}}, header=false, auto_detect=false,
                      delim=chr(30), quote='', escape='', store_rejects=true,
                      rejects_table='_line_rejects', rejects_scan='_line_reject_scans',
                      max_line_size={MAX_LINE_BYTES})
        """,
        [str(path)],
    ).fetchone()
    if blank or _rejected_any(con, "_line_rejects"):
        return False
    return lines - 1 == con.execute("SELECT count(*) FROM _parsed").fetchone()[0]


def _physical_lines(path: Path):
    """(line number, bytes without the line break) for every physical line; a truncated or
    corrupt gzip stream is refused naming the line where it breaks."""
    opener = gzip.open if path.name.endswith(".gz") else open
    lineno = 0
    try:
        with opener(path, "rb") as fh:
            for lineno, raw in enumerate(fh, start=1):
                yield lineno, raw.rstrip(b"\n").rstrip(b"\r")
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise RefusedFile(f"line {lineno + 1}: truncated or corrupt gzip stream ({exc})") from None


def _decode(lineno: int, raw: bytes) -> tuple[str | None, str | None]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at position {exc.start})"
    if lineno == 1:
        text = text.removeprefix("\ufeff")
    return text, None


def _parse_csv_by_lines(con, path: Path, ncols: int, select_cols: str) -> None:
    """Parse a CSV physical line by physical line into _parsed / _parse_rejects.

    A record may continue over following lines only while a quote is open; if the quote never
    closes (or the record then has the wrong number of fields), only its first line is rejected
    and parsing resumes on the next line, so one stray quote cannot swallow the file.
    """
    import pyarrow as pa

    rows: list[list[str]] = []
    row_lines: list[int] = []
    rejects: list[tuple[int, str, str]] = []
    pending: deque[tuple[int, bytes]] = deque()
    source = _physical_lines(path)

    def next_line():
        return pending.popleft() if pending else next(source)

    def reject(lineno: int, reason: str, text: str) -> None:
        rejects.append((lineno, "unparseable CSV row: " + reason, text[:RECORD_SAMPLE_CHARS]))

    while True:
        try:
            lineno, raw = next_line()
        except StopIteration:
            break
        if lineno == 1:
            continue  # the header, already checked
        text, problem = _decode(lineno, raw)
        if problem:
            reject(lineno, problem, raw.decode("utf-8", "replace"))
            continue
        if not text.strip():
            continue  # a blank line is not a row
        span = [(lineno, raw, text)]
        quotes = text.count('"')
        while quotes % 2 and len(span) < MAX_RECORD_LINES:
            try:
                nxt = next_line()
            except StopIteration:
                break
            nxt_text, nxt_problem = _decode(*nxt)
            if nxt_problem:
                pending.appendleft(nxt)
                break
            span.append((nxt[0], nxt[1], nxt_text))
            quotes += nxt_text.count('"')
        fields = None
        if quotes % 2 == 0:
            fields = next(csv.reader(io.StringIO("\n".join(t for _, _, t in span))), [])
        if fields is not None and len(fields) == ncols:
            rows.append(fields)
            row_lines.append(lineno)
            continue
        problem = "unterminated quote" if fields is None else f"expected {ncols} fields, found {len(fields)}"
        reject(lineno, problem, text)
        for item in reversed(span[1:]):  # the lines a bad quote would have swallowed get their own turn
            pending.appendleft((item[0], item[1]))

    columns = {"_line": pa.array(row_lines, pa.int64())}
    for i in range(ncols):
        columns[f"c{i}"] = pa.array([r[i] for r in rows], pa.string())
    con.register("_py_rows", pa.table(columns))
    con.register("_py_rejects", pa.table({
        "_line": pa.array([r[0] for r in rejects], pa.int64()),
        "_reason": pa.array([r[1] for r in rejects], pa.string()),
        "_record": pa.array([r[2] for r in rejects], pa.string()),
    }))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _parsed AS SELECT _line, {select_cols} FROM _py_rows")
        con.execute("CREATE OR REPLACE TEMP TABLE _parse_rejects AS SELECT * FROM _py_rejects")
    finally:
        con.unregister("_py_rows")
        con.unregister("_py_rejects")


def _jsonl_fields(contract: SourceContract) -> list[str]:
    """The fields a JSON lines contract checks, in the order `_fields` holds them."""
    return sorted({*contract.required, *(c for g in contract.required_any for c in g), *contract.types,
                   *contract.allowed, *contract.past_only, *contract.patterns})


def _stage_jsonl(con, contract: SourceContract, path: Path, result: FileLoad) -> int:
    """Read JSON lines into temp view _parsed_jsonl(_line, payload, _parse_reason, _fields): every field
    the contract checks extracted in one pass over the document (a path list), one JSON parse per
    row for all of them instead of one per field and check."""
    fields_ = _jsonl_fields(contract)
    paths = "[" + ", ".join(lit("$." + c) for c in fields_) + "]" if fields_ else None
    con.execute("DROP TABLE IF EXISTS _rejects; DROP TABLE IF EXISTS _reject_scans")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _lines AS
        SELECT row_number() OVER () AS _line, line AS _record
        FROM read_csv(?, columns={{'line': 'VARCHAR'}}, header=false, auto_detect=false,
                      delim=chr(30), quote='', escape='', store_rejects=true,
                      rejects_table='_rejects', rejects_scan='_reject_scans',
                      max_line_size={MAX_LINE_BYTES})
        """,
        [str(path)],
    )
    if _rejected_any(con, "_rejects"):
        # a line DuckDB could not read (bad bytes) drops out and shifts the numbering: re-read
        # the file line by line so every physical line keeps its number
        _read_lines_by_python(con, path)
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _parse_rejects (_line BIGINT, _reason VARCHAR, _record VARCHAR)")
    if not con.execute("SELECT 1 FROM _lines WHERE trim(_record) <> '' LIMIT 1").fetchone() and not con.execute(
        "SELECT count(*) FROM _parse_rejects"
    ).fetchone()[0]:
        raise RefusedFile("line 1: empty file, no JSON lines")
    too_long = f"'JSON line is too long: ' || length(_record) || ' characters (limit {MAX_JSON_LINE_CHARS})'"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW _parsed_jsonl AS
        WITH parsed AS (
            SELECT _line, _record,
                   CASE WHEN length(_record) <= {MAX_JSON_LINE_CHARS} AND json_valid(_record)
                        AND json_type(_record) = 'OBJECT' THEN _record END AS _doc
            FROM _lines WHERE _record IS NOT NULL AND trim(_record) <> ''
        )
        SELECT _line, _record AS payload,
               CASE WHEN length(_record) > {MAX_JSON_LINE_CHARS} THEN {too_long}
                    WHEN _doc IS NULL AND NOT json_valid(_record) THEN 'malformed JSON'
                    WHEN _doc IS NULL THEN 'JSON line is not an object' END AS _parse_reason,
               {f"json_extract_string(_doc, {paths})" if paths else "[]::VARCHAR[]"} AS _fields
        FROM parsed
        """
    )
    return con.execute("SELECT count(*) FROM _parse_rejects").fetchone()[0]


def _read_lines_by_python(con, path: Path) -> None:
    import pyarrow as pa

    lines, texts, rejects = [], [], []
    for lineno, raw in _physical_lines(path):
        text, problem = _decode(lineno, raw)
        if problem:
            rejects.append((lineno, "unreadable line: " + problem, raw.decode("utf-8", "replace")[:RECORD_SAMPLE_CHARS]))
        else:
            lines.append(lineno)
            texts.append(text)
    con.register("_py_lines", pa.table({"_line": pa.array(lines, pa.int64()), "_record": pa.array(texts, pa.string())}))
    con.register("_py_rejects", pa.table({
        "_line": pa.array([r[0] for r in rejects], pa.int64()),
        "_reason": pa.array([r[1] for r in rejects], pa.string()),
        "_record": pa.array([r[2] for r in rejects], pa.string()),
    }))
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _lines AS SELECT * FROM _py_lines")
        con.execute("CREATE OR REPLACE TEMP TABLE _parse_rejects AS SELECT * FROM _py_rejects")
    finally:
        con.unregister("_py_lines")
        con.unregister("_py_rejects")


def _known_unchanged(con, contract: SourceContract, rel: str, stat) -> bool:
    """The load log already has this file, same size, recorded after its last modification:
    skip it without reading it again (hashing gigabytes of old event files would dominate an
    incremental run). A file rewritten in place has a newer mtime and is hashed as usual. A file
    refused for its content counts too: it is refused (and logged) once, not on every run."""
    modified = datetime.fromtimestamp(stat.st_mtime, UTC).replace(tzinfo=None)
    return con.execute(
        "SELECT 1 FROM raw._load_log WHERE source=? AND file=? AND bytes=? AND loaded_at >= ? "
        "AND status IN ('loaded', 'duplicate', 'refused') "
        "AND NOT (status = 'refused' AND message LIKE '%: cannot read file (%') LIMIT 1",  # I/O errors: retried
        [contract.name, rel, stat.st_size, modified],
    ).fetchone() is not None


def _stage_and_check(con, contract: SourceContract, path: Path, result: FileLoad) -> None:
    """Parse and check a file into temp tables (_batch, _parse_rejects, _dup_lines) and fill the
    counts of `result`: what the loader loads and what `cdw check` reports, from the same code."""
    if path.name.endswith(".gz"):
        for _ in _physical_lines(path):  # refuses a truncated stream, naming the line
            pass
    stage = _stage_csv if contract.format == "csv" else _stage_jsonl
    n_parse_rejects = stage(con, contract, path, result)
    _check_rows(con, contract, "_parsed" if contract.format == "csv" else "_parsed_jsonl")
    cols = ", ".join(q(c) for c in raw_columns(contract))
    # a row repeated verbatim within the file (an export glitch) is loaded once; the copies are
    # counted, not loaded. Only rows that pass the contract can be duplicates: identical garbage
    # lines are each a rejected row.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _dup_lines AS SELECT _line FROM _batch WHERE _reason = '' "
        f"QUALIFY row_number() OVER (PARTITION BY {cols} ORDER BY _line) > 1"
    )
    n_rows, n_bad, n_dup = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE _reason <> ''), (SELECT count(*) FROM _dup_lines) FROM _batch"
    ).fetchone()
    rejects = con.execute(
        "SELECT _reason, count(*) FROM (SELECT _reason FROM _batch WHERE _reason <> '' "
        "UNION ALL SELECT _reason FROM _parse_rejects) GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    issues = con.execute(
        "SELECT i.column_name, i.reason, count(*), count(DISTINCT _line) FROM "
        "(SELECT _line, unnest(_issues) AS i FROM _batch WHERE _reason = '' AND _line NOT IN (SELECT _line FROM _dup_lines)) "
        "GROUP BY ALL ORDER BY 1, 3 DESC"
    ).fetchall()
    result.rows_read = n_rows + n_parse_rejects
    result.rows_quarantined = n_bad + n_parse_rejects
    result.rows_duplicate = n_dup
    result.rows_loaded = n_rows - n_bad - n_dup
    result.rejects_by_reason = dict(rejects)
    for column, reason, n, _ in issues:
        result.issues_by_column.setdefault(column, {})[reason] = n
    result.field_issues = sum(r[2] for r in issues)
    result.rows_with_field_issues = con.execute(
        "SELECT count(*) FROM _batch WHERE _reason = '' AND len(_issues) > 0 AND _line NOT IN (SELECT _line FROM _dup_lines)"
    ).fetchone()[0]
    notes = []
    if result.unmapped_columns:
        notes.append(f"ignored extra columns {result.unmapped_columns[:10]}")
    if result.missing_columns and contract.format == "csv":
        notes.append(f"columns absent, loaded as NULL: {result.missing_columns[:10]}")
    if result.field_issues:
        by_column = ", ".join(f"{c}={sum(r.values())}" for c, r in result.issues_by_column.items())
        notes.append(f"{result.field_issues} field issue(s) loaded as NULL ({by_column})")
    result.message = "; ".join(notes)


def _duckdb_problem(exc: duckdb.Error) -> str:
    """What went wrong, without DuckDB's quote of the offending line (a person's row)."""
    import re

    line = re.search(r"[Ll]ine:? (\d+)", str(exc))
    return f"cannot be read ({type(exc).__name__}{f' near line {line.group(1)}' if line else ''})"


def check_file(contract: SourceContract, path: Path) -> FileLoad:
    """Validate a file against its contract without loading it (in a throw-away in-memory
    database): the same parse, checks and counts the loader uses."""
    result = FileLoad(path.name, "checked")
    with duckdb.connect() as con:
        try:
            _stage_and_check(con, contract, path, result)
        except RefusedFile as exc:
            result.status, result.message = "refused", f"{path.name}: {exc}"
        except duckdb.Error as exc:
            result.status, result.message = "refused", f"{path.name}: {_duckdb_problem(exc)}"
    return result


def _forget_file(con, contract: SourceContract, rel: str) -> None:
    """Remove what an earlier delivery of this path left: its raw rows, its quarantined rows and
    field issues, and mark its load log entries replaced (the gate judges the new one)."""
    con.execute(f"DELETE FROM {contract.table} WHERE _file = ?", [rel])
    for table in ("quarantine.rejected_rows", "quarantine.field_issues"):
        con.execute(f"DELETE FROM {table} WHERE source = ? AND _file = ?", [contract.name, rel])
    con.execute("UPDATE raw._load_log SET status = 'replaced' WHERE source = ? AND file = ? "
                "AND status IN ('loaded', 'duplicate', 'refused')", [contract.name, rel])


def _insert_batch(con, contract: SourceContract, path: Path, rel: str, load_id: str, now) -> None:
    cols = ", ".join(q(c) for c in raw_columns(contract))
    not_dup = " AND _line NOT IN (SELECT _line FROM _dup_lines)"
    day_col, day = (f", {DAY_COLUMN}", [partitions.file_day(path)]) if contract.partitioned else ("", [])
    # the retention time: extracted by the JSON staging already; a cast of the CSV column
    event_time = EVENT_TIME_COLUMN if contract.format == "jsonl" else event_time_sql(contract)
    time_col, time_sql = (f", {EVENT_TIME_COLUMN}", f", {event_time}") if contract.retention_by else ("", "")
    con.execute(
        f"INSERT INTO {contract.table} ({cols}, _file, _line, _load_id, _loaded_at{day_col}{time_col}) "
        f"SELECT {cols}, ?, _line, ?, ?{', ?' if day else ''}{time_sql} FROM _batch WHERE _reason = ''{not_dup}",
        [rel, load_id, now, *day],
    )
    con.execute(
        f"""
        INSERT INTO quarantine.rejected_rows
        SELECT ?, ?, _line, _reason, left(_record, {RECORD_SAMPLE_CHARS}), ?, ? FROM _batch WHERE _reason <> ''
        UNION ALL
        SELECT ?, ?, _line, _reason, _record, ?, ? FROM _parse_rejects
        """,
        [contract.name, rel, load_id, now] * 2,
    )
    con.execute(
        f"""
        INSERT INTO quarantine.field_issues
        SELECT ?, ?, _line, i.column_name, i.reason, i.value, ?, ?
        FROM (SELECT _line, unnest(_issues) AS i FROM _batch WHERE _reason = ''{not_dup})
        """,
        [contract.name, rel, load_id, now],
    )


def _stat_key(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def load_file(con, contract: SourceContract, path: Path, landing: Path) -> FileLoad:
    rel = path.relative_to(landing).as_posix()
    stat = path.stat()
    if _known_unchanged(con, contract, rel, stat):
        return FileLoad(rel, "unchanged")
    before = (stat.st_size, stat.st_mtime_ns)
    digest = _sha256(path)
    size = stat.st_size
    now = datetime.now(UTC).replace(tzinfo=None)
    load_id = uuid.uuid4().hex[:16]
    logged = dict(con.execute(
        "SELECT status, arg_max(sha256, loaded_at) FROM raw._load_log WHERE source=? AND file=? "
        "AND status IN ('loaded', 'duplicate', 'refused') GROUP BY 1", [contract.name, rel]).fetchall())
    if digest in logged.values():  # the same content under this name, seen by an earlier run
        return FileLoad(rel, "unchanged")
    seen = con.execute(
        "SELECT file FROM raw._load_log WHERE source=? AND sha256=? AND status='loaded' LIMIT 1",
        [contract.name, digest],
    ).fetchone()
    con.execute("BEGIN TRANSACTION")
    try:
        replaced = bool(logged)
        if replaced:  # a re-delivery of this path with new content: it replaces the old one
            _forget_file(con, contract, rel)
        if seen:
            result = FileLoad(rel, "duplicate", message=f"same content as already loaded {seen[0]}")
        else:
            result = FileLoad(rel, "loaded")
            _stage_and_check(con, contract, path, result)
            _insert_batch(con, contract, path, rel, load_id, now)
        result.replaced = replaced
        if replaced:
            result.message = "; ".join(filter(None, ["replaces the earlier delivery of this file", result.message]))
        if _stat_key(path) != before:  # written to while it was read: next run, once it is stable
            con.execute("ROLLBACK")
            return FileLoad(rel, "pending", message="changed while it was read: loaded once stable")
    except RefusedFile as exc:
        con.execute("ROLLBACK")
        con.execute("BEGIN TRANSACTION")
        if logged:
            _forget_file(con, contract, rel)
        result = FileLoad(rel, "refused", message=f"{rel}: {exc}")
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        con.execute("BEGIN TRANSACTION")
        if logged:
            _forget_file(con, contract, rel)
        result = FileLoad(rel, "refused", message=f"{rel}: {_duckdb_problem(exc)}")
    _log(con, load_id, contract.name, digest, size, result, now)
    con.execute("COMMIT")
    return result


def _log(con, load_id, source, digest, size, r: FileLoad, now) -> None:
    con.execute(
        "INSERT INTO raw._load_log (load_id, source, file, sha256, bytes, status, rows_read, rows_loaded, "
        "rows_quarantined, message, loaded_at, rows_duplicate, field_issues, rows_with_field_issues) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [load_id, source, r.file, digest, size, r.status, r.rows_read, r.rows_loaded,
         r.rows_quarantined, r.message, now, r.rows_duplicate, r.field_issues, r.rows_with_field_issues],
    )


def _candidates(contract: SourceContract, landing: Path) -> list[Path]:
    marker = contract.done_marker
    return sorted(p for p in landing.glob(contract.path)
                  if not p.name.startswith(".") and not (marker and p.name.endswith(marker)))


def _outside_landing(path: Path, landing: Path) -> str | None:
    """Why a landing path must not be read (a symbolic link on the way, or it resolves outside
    the landing folder), None when it is a plain file inside it."""
    root = landing.resolve()
    rel = path.relative_to(landing)
    node = landing
    for part in rel.parts:
        node = node / part
        if node.is_symlink():
            return "a symbolic link: landing never follows links"
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return "resolves outside the landing folder"
    return None if path.is_file() else "not a regular file"


def source_files(contract: SourceContract, landing: Path) -> list[Path]:
    """The source's files landing may read (no links, nothing outside it, no done-markers)."""
    return [p for p in _candidates(contract, landing) if _outside_landing(p, landing) is None]


def _refuse_unsafe(con, contract: SourceContract, landing: Path, now) -> list[FileLoad]:
    """Log (once) every candidate path landing refuses to read; never opens it."""
    out = []
    for p in _candidates(contract, landing):
        problem = _outside_landing(p, landing)
        if problem is None or problem == "not a regular file" and not p.is_symlink():
            continue
        rel = p.relative_to(landing).as_posix()
        if con.execute("SELECT 1 FROM raw._load_log WHERE source=? AND file=? AND status='refused' "
                       "AND sha256 IS NULL AND removed_at IS NULL", [contract.name, rel]).fetchone():
            out.append(FileLoad(rel, "unchanged"))
            continue
        result = FileLoad(rel, "refused", message=f"{rel}: not read: {problem}")
        _log(con, uuid.uuid4().hex[:16], contract.name, None, None, result, now)
        out.append(result)
    return out


def _stable(contract: SourceContract, paths: list[Path], landing: Path) -> tuple[list[Path], list[FileLoad]]:
    """(files ready to read, pending ones). With a done-marker: files whose marker exists. Else
    files whose size and mtime stay unchanged for the settle interval: files older than it are
    ready at once, younger ones are looked at again once it has passed (one wait per source)."""
    if contract.done_marker:
        ready = [p for p in paths if Path(str(p) + contract.done_marker).exists()]
        waiting = [p for p in paths if p not in ready]
        return ready, [FileLoad(p.relative_to(landing).as_posix(), "pending",
                                message=f"waiting for its done-marker {p.name}{contract.done_marker}") for p in waiting]
    settle = settle_seconds()
    seen = {p: _stat_key(p) for p in paths}
    young = [p for p, (_, mtime) in seen.items() if time.time() - mtime / 1e9 < settle]
    if not young:
        return paths, []
    time.sleep(max(0.0, min(settle, max(seen[p][1] for p in young) / 1e9 + settle - time.time())))
    changed = {p for p in young if not p.exists() or _stat_key(p) != seen[p]}
    return [p for p in paths if p not in changed], [
        FileLoad(p.relative_to(landing).as_posix(), "pending", message="still being written: loaded once stable")
        for p in sorted(changed)]


def _mark_removed(con, contract: SourceContract, present: set[str], now) -> None:
    """Deliveries whose file left landing are no longer judged by the gate (their rows stay);
    a file that comes back is judged again."""
    con.execute("CREATE OR REPLACE TEMP TABLE _present (file VARCHAR)")
    if present:
        con.executemany("INSERT INTO _present VALUES (?)", [[f] for f in sorted(present)])
    con.execute("UPDATE raw._load_log SET removed_at = ? WHERE source = ? AND removed_at IS NULL "
                "AND file NOT IN (SELECT file FROM _present)", [now, contract.name])
    con.execute("UPDATE raw._load_log SET removed_at = NULL WHERE source = ? AND removed_at IS NOT NULL "
                "AND sha256 IS NOT NULL AND file IN (SELECT file FROM _present)", [contract.name])


def load_source(con, contract: SourceContract, landing: Path | None = None,
                days: tuple[date, date] | None = None) -> SourceLoad:
    """Load the source's new files; with `days` (start, end exclusive) only the files of those
    partition days (see orchestration/partitions.py)."""
    landing = landing or settings.landing_dir()
    ensure_schemas(con)
    ensure_raw_table(con, contract)
    result = SourceLoad(contract.name)
    now = datetime.now(UTC).replace(tzinfo=None)
    files = source_files(contract, landing)
    _mark_removed(con, contract, {p.relative_to(landing).as_posix() for p in _candidates(contract, landing)}, now)
    result.files.extend(_refuse_unsafe(con, contract, landing, now))
    wanted = [p for p in files if days is None or partitions.in_window(p, *days)]
    new = []
    for p in wanted:
        if _known_unchanged(con, contract, p.relative_to(landing).as_posix(), p.stat()):
            result.files.append(FileLoad(p.relative_to(landing).as_posix(), "unchanged"))
        else:
            new.append(p)
    ready, pending = _stable(contract, new, landing)
    result.files.extend(pending)
    for path in ready:
        result.files.append(load_file(con, contract, path, landing))
    return result


def pending_days(con, contract: SourceContract, landing: Path | None = None) -> list[date]:
    """Partition days that have files the load log does not hold yet (by name, size and time,
    without reading them): the days a run has to (re)load."""
    landing = landing or settings.landing_dir()
    has_log = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema='raw' AND table_name='_load_log'"
    ).fetchone()[0]
    days = set()
    for path in source_files(contract, landing):
        if not has_log or not _known_unchanged(con, contract, path.relative_to(landing).as_posix(), path.stat()):
            days.add(partitions.file_day(path))
    return sorted(days)


def connect(warehouse: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A writer's connection (waits for the file lock, memory ceiling set): orchestration/warehouse.py."""
    from orchestration.warehouse import connect as connect_warehouse

    return connect_warehouse(warehouse)


def summary_lines(con) -> list[str]:
    """What the run summary says about the deliveries raw holds: field issues per source and
    column, and the CRM records whose missing created/modified time the delivery time replaces."""
    tables = {f"{s}.{t}" for s, t in con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}
    lines = []
    if "quarantine.field_issues" in tables:
        rows = con.execute("SELECT source || '.' || column_name, count(*) FROM quarantine.field_issues "
                           "GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
        if rows:
            shown = ", ".join(f"{k}={n}" for k, n in rows[:8]) + (", …" if len(rows) > 8 else "")
            lines.append(f"Field issues (loaded as NULL, rows kept; quarantine.field_issues): {shown}")
    timed = []
    for c in contracts().values():
        if c.table in tables and {"createdate", "lastmodifieddate"} <= set(c.columns):
            n = con.execute(f"SELECT count(*) FROM {c.table} WHERE createdate IS NULL OR lastmodifieddate IS NULL").fetchone()[0]
            if n:
                timed.append(f"{c.name}={n}")
    if timed:
        lines.append("Delivery time stands in for a missing created/modified time: " + ", ".join(timed))
    return lines
