"""Load landing files into `raw.*`, row by row against the source contract.

Guarantees, per file and in one transaction:
  rows read = rows loaded (raw.<source>) + rows quarantined (quarantine.rejected_rows)
              + exact duplicate lines skipped (counted in raw._load_log.rows_duplicate)
A file already loaded (same source, same sha256, whatever its name) is skipped and counted,
so re-running extraction or a duplicate delivery adds nothing. A file that cannot be read as
its contract says (missing required columns, not UTF-8, unreadable) is refused: nothing of it
is loaded and the load log says which file, which line and what is wrong.

Every non-blank physical line is accounted for: DuckDB's CSV reader does the work when it
parses one row per line with nothing rejected (checked against a line count); otherwise the
file is re-read line by line in Python, so an unterminated quote or a bad byte costs one
quarantined line, not the rest of the file, and `_line` stays the physical line number.
Values longer than MAX_FIELD_CHARS (JSON lines over MAX_JSON_LINE_CHARS), dates in the future
for `past_only` fields and truncated gzip streams are caught the same way.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import uuid
import zlib
from collections import deque
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import duckdb

from orchestration.extract.contracts import SourceContract, contracts
from orchestration import partitions, settings

LINEAGE_COLUMNS = ("_file", "_line", "_load_id", "_loaded_at")
DAY_COLUMN = "_delivery_day"  # partitioned sources only: the partition day of the row's file
EVENT_TIME_COLUMN = "_event_at"  # sources with a retention: the row's `retention.by` time, typed
MAX_LINE_BYTES = 32 * 1024 * 1024
RECORD_SAMPLE_CHARS = 4000  # quarantine keeps the start of an offending record, not megabytes
MAX_FIELD_CHARS = 64 * 1024  # a CSV field longer than this is a broken export, not a value
MAX_JSON_LINE_CHARS = 1024 * 1024  # a JSON event longer than this is quarantined
MAX_RECORD_LINES = 1000  # a quoted CSV value spanning more physical lines is an unterminated quote
FUTURE_TOLERANCE = "INTERVAL 2 DAY"  # clock skew allowed before a date counts as "in the future"


@dataclass
class FileLoad:
    file: str
    status: str  # loaded | unchanged (already loaded) | duplicate (same content, other name) | refused
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0  # exact copies of an earlier line of the same file: skipped, counted
    message: str = ""


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
            "rows_read": self.total("rows_read"),
            "rows_loaded": self.total("rows_loaded"),
            "rows_quarantined": self.total("rows_quarantined"),
            "rows_duplicate_skipped": self.total("rows_duplicate"),
        }


def q(ident: str) -> str:
    """Quote an identifier for DuckDB."""
    return '"' + ident.replace('"', '""') + '"'


def lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


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
    # logs written before duplicate lines were counted: evolve
    con.execute("ALTER TABLE raw._load_log ADD COLUMN IF NOT EXISTS rows_duplicate BIGINT DEFAULT 0")
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
    try:
        first_raw = next(iter(_physical_lines(path)), (1, b""))[1]
    except OSError as exc:
        raise RefusedFile(f"line 1: cannot read file ({exc})") from None
    first, problem = _decode(1, first_raw)
    if problem:
        raise RefusedFile(f"line 1: header is {problem}")
    if not first.strip():
        raise RefusedFile("line 1: empty file, no header")
    header = [h.strip() for h in next(csv.reader([first]))]
    dupes = sorted({h for h in header if header.count(h) > 1})
    if dupes:
        raise RefusedFile(f"line 1: duplicate header columns {dupes}")
    return header


def check_sql(col: str, typ: str) -> str:
    """SQL true when the text in `col` does not parse as the contract type (shared with the gate)."""
    v = f"trim({col})"
    return {
        "date": f"coalesce(NOT year(try_cast({v} AS DATE)) BETWEEN 1900 AND 2100, true)",
        "timestamp": f"coalesce(NOT year(try_cast({v} AS TIMESTAMP)) BETWEEN 1970 AND 2100, true)",
        "number": f"try_cast({v} AS DOUBLE) IS NULL",
        "integer": f"try_cast({v} AS BIGINT) IS NULL",
        "boolean": f"try_cast({v} AS BOOLEAN) IS NULL",
    }[typ]


def future_sql(col: str, typ: str) -> str | None:
    """SQL true when a date/timestamp lies in the future (beyond clock skew): impossible for a record."""
    v = f"trim({col})"
    if typ == "date":
        return f"coalesce(try_cast({v} AS DATE) > current_date + {FUTURE_TOLERANCE}, false)"
    if typ == "timestamp":
        return f"coalesce(try_cast({v} AS TIMESTAMP) > now()::TIMESTAMP + {FUTURE_TOLERANCE}, false)"
    return None


def _reason_sql(contract: SourceContract, field_sql, extra: list[str] | None = None) -> str:
    """SQL for the reason a row breaks the contract ('' when it does not)."""
    parts = list(extra or [])
    for c in contract.required:
        f = field_sql(c)
        parts.append(f"CASE WHEN {f} IS NULL OR trim({f}) = '' THEN {lit('missing required field ' + c)} END")
    for group in contract.required_any:
        cond = " AND ".join(f"coalesce(trim({field_sql(c)}), '') = ''" for c in group)
        parts.append(f"CASE WHEN {cond} THEN {lit('needs one of ' + ', '.join(group))} END")
    for c, typ in contract.types.items():
        f = field_sql(c)
        parts.append(
            f"CASE WHEN coalesce(trim({f}), '') <> '' AND {check_sql(f, typ)} "
            f"THEN {lit(c + ' is not a valid ' + typ + ': ')} || left({f}, 60) END"
        )
        future = future_sql(f, typ) if c in contract.past_only else None
        if future:
            parts.append(f"CASE WHEN {future} THEN {lit(c + ' is in the future: ')} || left({f}, 60) END")
    for c, values in contract.allowed.items():
        f = field_sql(c)
        allowed = ", ".join(lit(v) for v in values)
        parts.append(
            f"CASE WHEN coalesce(trim({f}), '') <> '' AND {f} NOT IN ({allowed}) "
            f"THEN {lit(c + ' not an allowed value: ')} || left({f}, 60) END"
        )
    return "concat_ws('; ', " + ", ".join(parts or ["NULL"]) + ")"


def _stage_csv(con, contract: SourceContract, path: Path) -> tuple[int, str]:
    """Read a CSV into temp table _batch(_line, <contract cols>, _reason, _record); returns parse rejects."""
    header = _read_csv_header(path)
    by_lower = {h.lower(): h for h in header}
    missing_required = [c for c in contract.required if c.lower() not in by_lower]
    if missing_required:
        raise RefusedFile(
            f"line 1: missing required column(s) {missing_required}; header has {header[:20]}"
        )
    notes = []
    extra = [h for h in header if h.lower() not in {c.lower() for c in contract.columns}]
    absent = [c for c in contract.columns if c.lower() not in by_lower]
    if extra:
        notes.append(f"ignored extra columns {extra[:10]}")
    if absent:
        notes.append(f"columns absent, loaded as NULL: {absent[:10]}")
    columns = "{" + ", ".join(f"{lit(h)}: 'VARCHAR'" for h in header) + "}"

    def field_sql(c: str) -> str:
        return q(c)

    select_cols = ", ".join(
        f"nullif({q(by_lower[c.lower()])}, '') AS {q(c)}" if c.lower() in by_lower else f"NULL::VARCHAR AS {q(c)}"
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
        _parse_csv_by_lines(con, path, header, select_cols)
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _parse_rejects (_line BIGINT, _reason VARCHAR, _record VARCHAR)")
    record = "to_json(struct_pack(" + ", ".join(f"{q(c)} := {q(c)}" for c in contract.columns) + "))"
    too_long = [
        f"CASE WHEN length({q(c)}) > {MAX_FIELD_CHARS} THEN {lit(c + ' is too long: ')} || length({q(c)}) "
        f"|| {lit(' characters (limit ' + str(MAX_FIELD_CHARS) + ')')} END"
        for c in contract.columns
    ]
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _batch AS
        SELECT *, CASE WHEN _reason <> '' THEN {record} END AS _record  -- kept for quarantine only
        FROM (SELECT *, {_reason_sql(contract, field_sql, too_long)} AS _reason FROM _parsed)
        """
    )
    return con.execute("SELECT count(*) FROM _parse_rejects").fetchone()[0], "; ".join(notes)


def _fast_parse_is_exact(con, path: Path) -> bool:
    """True when DuckDB parsed one row per physical line after the header (nothing rejected,
    no blank lines, no value spanning lines), so row_number() + 1 is each row's physical line."""
    if con.execute("SELECT count(*) FROM _rejects").fetchone()[0]:
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
    if blank or con.execute("SELECT count(*) FROM _line_rejects").fetchone()[0]:
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


def _parse_csv_by_lines(con, path: Path, header: list[str], select_cols: str) -> None:
    """Parse a CSV physical line by physical line into _parsed / _parse_rejects.

    A record may continue over following lines only while a quote is open; if the quote never
    closes (or the record then has the wrong number of fields), only its first line is rejected
    and parsing resumes on the next line, so one stray quote cannot swallow the file.
    """
    import pyarrow as pa

    ncols = len(header)
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
    for i, h in enumerate(header):
        columns[h] = pa.array([r[i] for r in rows], pa.string())
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


def _stage_jsonl(con, contract: SourceContract, path: Path) -> tuple[int, str]:
    # every field the contract checks, extracted in one pass over the document (a path list):
    # one JSON parse per row for all of them instead of one per field and check
    fields = sorted({*contract.required, *(c for g in contract.required_any for c in g), *contract.types,
                     *contract.allowed, *contract.past_only})
    position = {c: i + 1 for i, c in enumerate(fields)}
    paths = "[" + ", ".join(lit("$." + c) for c in fields) + "]" if fields else None

    def field_sql(c: str) -> str:
        return f"_fields[{position[c]}]"

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
    if con.execute("SELECT count(*) FROM _rejects").fetchone()[0]:
        # a line DuckDB could not read (bad bytes) drops out and shifts the numbering: re-read
        # the file line by line so every physical line keeps its number
        _read_lines_by_python(con, path)
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE _parse_rejects (_line BIGINT, _reason VARCHAR, _record VARCHAR)")
    if not con.execute("SELECT 1 FROM _lines WHERE trim(_record) <> '' LIMIT 1").fetchone() and not con.execute(
        "SELECT count(*) FROM _parse_rejects"
    ).fetchone()[0]:
        raise RefusedFile("line 1: empty file, no JSON lines")
    too_long = f"CASE WHEN length(_record) > {MAX_JSON_LINE_CHARS} THEN 'JSON line is too long: ' || length(_record) || ' characters (limit {MAX_JSON_LINE_CHARS})' END"
    # the retention time, typed from the fields already extracted (not a second parse at insert)
    event_at = f", try_cast({field_sql(contract.retention_by)} AS TIMESTAMPTZ) AS {EVENT_TIME_COLUMN}" if contract.retention_by else ""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _batch AS
        WITH parsed AS (
            SELECT _line, _record,
                   CASE WHEN json_valid(_record) AND json_type(_record) = 'OBJECT' THEN _record END AS _doc
            FROM _lines WHERE _record IS NOT NULL AND trim(_record) <> ''
        ), fielded AS (
            SELECT *, {f"json_extract_string(_doc, {paths})" if paths else "[]::VARCHAR[]"} AS _fields FROM parsed
        )
        SELECT _line, payload, _reason, CASE WHEN _reason <> '' THEN payload END AS _record{event_at}
        FROM (
            SELECT _line, _record AS payload, _fields,
                   CASE WHEN length(_record) > {MAX_JSON_LINE_CHARS} THEN {too_long}
                        WHEN _doc IS NULL AND NOT json_valid(_record) THEN 'malformed JSON'
                        WHEN _doc IS NULL THEN 'JSON line is not an object'
                        ELSE {_reason_sql(contract, field_sql)} END AS _reason
            FROM fielded
        )
        """
    )
    return con.execute("SELECT count(*) FROM _parse_rejects").fetchone()[0], ""


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
    incremental run). A file rewritten in place has a newer mtime and is hashed as usual."""
    modified = datetime.fromtimestamp(stat.st_mtime, timezone.utc).replace(tzinfo=None)
    return con.execute(
        "SELECT 1 FROM raw._load_log WHERE source=? AND file=? AND bytes=? AND loaded_at >= ? "
        "AND status IN ('loaded', 'duplicate') LIMIT 1",
        [contract.name, rel, stat.st_size, modified],
    ).fetchone() is not None


def load_file(con, contract: SourceContract, path: Path, landing: Path) -> FileLoad:
    rel = path.relative_to(landing).as_posix()
    stat = path.stat()
    if _known_unchanged(con, contract, rel, stat):
        return FileLoad(rel, "unchanged")
    digest = _sha256(path)
    size = stat.st_size
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    load_id = uuid.uuid4().hex[:16]
    seen = con.execute(
        "SELECT file FROM raw._load_log WHERE source=? AND sha256=? AND status='loaded' LIMIT 1",
        [contract.name, digest],
    ).fetchone()
    if seen:
        if seen[0] == rel:  # the same file seen again by a later run: nothing to do or record
            return FileLoad(rel, "unchanged")
        if con.execute(
            "SELECT 1 FROM raw._load_log WHERE source=? AND sha256=? AND file=? AND status='duplicate' LIMIT 1",
            [contract.name, digest, rel],
        ).fetchone():  # a duplicate already recorded: counted once, not once per run
            return FileLoad(rel, "unchanged")
        result = FileLoad(rel, "duplicate", message=f"same content as already loaded {seen[0]}")
    else:
        con.execute("BEGIN TRANSACTION")
        try:
            if path.name.endswith(".gz"):
                for _ in _physical_lines(path):  # refuses a truncated stream, naming the line
                    pass
            stage = _stage_csv if contract.format == "csv" else _stage_jsonl
            n_parse_rejects, notes = stage(con, contract, path)
            n_rows, n_bad = con.execute(
                "SELECT count(*), count(*) FILTER (WHERE _reason <> '') FROM _batch"
            ).fetchone()
            cols = ", ".join(q(c) for c in raw_columns(contract))
            # a line repeated verbatim within the file (an export glitch) is loaded once; the
            # copies are counted, not loaded and not quarantined
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _dup_lines AS SELECT _line FROM _batch WHERE _reason = '' "
                f"QUALIFY row_number() OVER (PARTITION BY {cols} ORDER BY _line) > 1"
            )
            n_dup = con.execute("SELECT count(*) FROM _dup_lines").fetchone()[0]
            not_dup = " AND _line NOT IN (SELECT _line FROM _dup_lines)" if n_dup else ""
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
            result = FileLoad(
                rel,
                "loaded",
                rows_read=n_rows + n_parse_rejects,
                rows_loaded=n_rows - n_bad - n_dup,
                rows_quarantined=n_bad + n_parse_rejects,
                rows_duplicate=n_dup,
                message=notes,
            )
        except RefusedFile as exc:
            con.execute("ROLLBACK")
            result = FileLoad(rel, "refused", message=f"{rel}: {exc}")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            first_line = str(exc).strip().splitlines()[0]
            result = FileLoad(rel, "refused", message=f"{rel}: cannot be read: {first_line[:300]}")
        else:
            _log(con, load_id, contract.name, digest, size, result, now)
            con.execute("COMMIT")
            return result
    _log(con, load_id, contract.name, digest, size, result, now)
    return result


def _log(con, load_id, source, digest, size, r: FileLoad, now) -> None:
    con.execute(
        "INSERT INTO raw._load_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [load_id, source, r.file, digest, size, r.status, r.rows_read, r.rows_loaded,
         r.rows_quarantined, r.message, now, r.rows_duplicate],
    )


def source_files(contract: SourceContract, landing: Path) -> list[Path]:
    return sorted(p for p in landing.glob(contract.path) if p.is_file() and not p.name.startswith("."))


def load_source(con, contract: SourceContract, landing: Path | None = None,
                days: tuple[date, date] | None = None) -> SourceLoad:
    """Load the source's new files; with `days` (start, end exclusive) only the files of those
    partition days (see orchestration/partitions.py)."""
    landing = landing or settings.landing_dir()
    ensure_schemas(con)
    ensure_raw_table(con, contract)
    result = SourceLoad(contract.name)
    for path in source_files(contract, landing):
        if days is None or partitions.in_window(path, *days):
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


def load_all(landing: Path | None = None, warehouse: Path | None = None) -> dict[str, SourceLoad]:
    """Load every source of sources.yml (used by tests and scripts; Dagster runs one asset each)."""
    with connect(warehouse) as con:
        return {name: load_source(con, c, landing) for name, c in contracts().items()}
