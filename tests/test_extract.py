"""Extraction: contract checks, quarantine with reasons, refusal, idempotency, accounting."""

from __future__ import annotations

import gzip

import pytest

from orchestration.extract.contracts import contracts
from orchestration.extract.loader import load_source

HEADER = "hs_object_id,firstname,lastname,email,lifecyclestage,createdate,lastmodifieddate"



def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_rows_without_their_id_are_rejected_bad_optional_fields_are_field_issues(landing, con):
    write(
        landing / "crm/contacts/a.csv",
        HEADER + "\n"
        "1,Ann,Lee,ann@x.com,lead,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z\n"
        "2,Bob,Ray,bob@x.com,lead,notadate,2024-01-02\n"
        ",Eve,Moe,eve@x.com,lead,2024-01-01,2024-01-01\n"
        "4,Zed,Q,z@x.com,boss,2024-01-01,2024-01-01\n"
        "5,Old,Q,o@x.com,lead,0000-01-01,2024-01-01\n",
    )
    res = load_source(con, contracts()["crm_contacts"], landing)
    s = res.summary()
    assert s == {"files_loaded": 1, "files_unchanged": 0, "files_skipped_duplicate": 0, "files_refused": 0,
                 "files_pending": 0, "rows_read": 5, "rows_loaded": 4, "rows_quarantined": 1,
                 "rows_duplicate_skipped": 0, "field_issues": 3}
    reasons = dict(con.execute("SELECT _line, reason FROM quarantine.rejected_rows ORDER BY _line").fetchall())
    assert reasons == {4: "missing required field hs_object_id"}
    issues = con.execute("SELECT _line, column_name, reason, value FROM quarantine.field_issues ORDER BY 1").fetchall()
    assert issues == [(3, "createdate", "not a valid timestamp (ISO)", "notadate"),
                      (5, "lifecyclestage", "not an allowed value", "boss"),
                      (6, "createdate", "implausible: before 1970-01-01", "0000-01-01")]
    assert con.execute("SELECT hs_object_id, createdate, lifecyclestage FROM raw.crm_contacts ORDER BY _line").fetchall() == [
        ("1", "2024-01-01T00:00:00Z", "lead"), ("2", None, "lead"), ("4", "2024-01-01", None), ("5", None, "lead")]
    logged = con.execute("SELECT rows_read, rows_loaded, rows_quarantined, field_issues, rows_with_field_issues "
                         "FROM raw._load_log").fetchall()
    assert logged == [(5, 4, 1, 3, 3)]


def test_reload_and_duplicate_delivery_add_nothing(landing, con):
    body = HEADER + "\n1,Ann,Lee,ann@x.com,lead,2024-01-01,2024-01-02\n"
    write(landing / "crm/contacts/a.csv", body)
    contract = contracts()["crm_contacts"]
    load_source(con, contract, landing)
    write(landing / "crm/contacts/a_copy.csv", body)  # the same delivery under another name
    second = load_source(con, contract, landing)
    assert second.summary()["rows_loaded"] == 0
    assert [f.status for f in second.files] == ["unchanged", "duplicate"]
    assert con.execute("SELECT count(*) FROM raw.crm_contacts").fetchone()[0] == 1


def test_exact_duplicate_lines_within_a_file_are_loaded_once_and_counted(landing, con):
    row = "1,Ann,Lee,ann@x.com,lead,2024-01-01,2024-01-02\n"
    write(landing / "crm/contacts/twice.csv",
          HEADER + "\n" + row + "2,Bob,Ray,bob@x.com,lead,2024-01-01,2024-01-02\n" + row + row
          + "2,Bob,Ray,bob@x.com,lead,2024-01-01,2024-01-03\n")  # same id, other data: not a copy
    event = '{"messageId":"m1","type":"track","timestamp":"2024-01-01T00:00:00Z","anonymousId":"a"}\n'
    write(landing / "web/events/2024-01-01.jsonl", event * 3)
    s = load_source(con, contracts()["crm_contacts"], landing).summary()
    assert (s["rows_read"], s["rows_loaded"], s["rows_quarantined"], s["rows_duplicate_skipped"]) == (5, 3, 0, 2)
    assert con.execute("SELECT _line FROM raw.crm_contacts ORDER BY _line").fetchall() == [(2,), (3,), (6,)]
    w = load_source(con, contracts()["web_events"], landing).summary()
    assert (w["rows_read"], w["rows_loaded"], w["rows_duplicate_skipped"]) == (3, 1, 2)
    logged = con.execute("SELECT file, rows_read, rows_loaded, rows_quarantined, rows_duplicate FROM raw._load_log "
                         "ORDER BY file").fetchall()
    assert logged == [("crm/contacts/twice.csv", 5, 3, 0, 2), ("web/events/2024-01-01.jsonl", 3, 1, 0, 2)]


def test_file_missing_required_columns_is_refused_with_file_line_problem(landing, con):
    write(landing / "crm/contacts/semi.csv", "hs_object_id;createdate;lastmodifieddate\n1;2024-01-01;2024-01-01\n")
    res = load_source(con, contracts()["crm_contacts"], landing)
    (f,) = res.files
    assert f.status == "refused"
    assert "crm/contacts/semi.csv: line 1: missing required column(s)" in f.message
    assert con.execute("SELECT count(*) FROM raw.crm_contacts").fetchone()[0] == 0
    log = con.execute("SELECT status, message FROM raw._load_log").fetchall()
    assert log[0][0] == "refused"


def test_broken_csv_row_is_quarantined_and_schema_drift_tolerated(landing, con):
    write(
        landing / "crm/contacts/b.csv",
        HEADER + ",brand_new_column\n"
        "1,Ann,Lee,ann@x.com,lead,2024-01-01,2024-01-02,x\n"
        "2,Bob,Ray,bob@x.com,lead,2024-01-01,2024-01-02,x,too,many\n"
        "3,Cy,Doe,cy@x.com,lead,2024-01-01,2024-01-02,x\n",
    )
    res = load_source(con, contracts()["crm_contacts"], landing)
    s = res.summary()
    assert s["rows_read"] == s["rows_loaded"] + s["rows_quarantined"] == 3
    assert s["rows_quarantined"] == 1
    assert "ignored extra columns ['brand_new_column']" in res.files[0].message
    reason = con.execute("SELECT reason FROM quarantine.rejected_rows").fetchone()[0]
    assert reason.startswith("unparseable CSV row")


def test_jsonl_malformed_and_incomplete_events(landing, con):
    lines = [
        '{"messageId":"m1","type":"track","event":"Signed Up","timestamp":"2026-10-01T10:00:00Z","anonymousId":"a1"}',
        '{"messageId":"m2","type":"page","timestamp":"2026-10-01T10:00:00Z"}',
        '{"messageId":"m3","type":"tra',
        "",
        '["not", "an", "object"]',
        '{"messageId":"m4","type":"page","timestamp":"2026-10-01T10:01:00Z","userId":"u1"}',
    ]
    with gzip.open(landing / "web/events/2026-10-01.jsonl.gz", "wt") as fh:
        fh.write("\n".join(lines) + "\n")
    res = load_source(con, contracts()["web_events"], landing)
    assert res.summary()["rows_read"] == 5  # the blank line is not a row
    assert res.summary()["rows_loaded"] == 2
    reasons = dict(con.execute("SELECT _line, reason FROM quarantine.rejected_rows").fetchall())
    assert reasons == {2: "needs one of anonymousId, userId", 3: "malformed JSON", 5: "JSON line is not an object"}
    payload = con.execute("SELECT payload->>'$.event' FROM raw.web_events WHERE _line = 1").fetchone()[0]
    assert payload == "Signed Up"


def test_empty_and_non_utf8_files_are_refused(landing, con):
    write(landing / "crm/contacts/empty.csv", "")
    (landing / "crm/contacts/latin1.csv").write_bytes("hs_object_id,firstname\xe9\n".encode("latin-1"))
    res = load_source(con, contracts()["crm_contacts"], landing)
    msgs = {f.file: f.message for f in res.files}
    assert all(f.status == "refused" for f in res.files)
    assert "empty file" in msgs["crm/contacts/empty.csv"]
    assert "not UTF-8" in msgs["crm/contacts/latin1.csv"]


def test_optional_deal_term_column_older_files_load_and_unreadable_terms_are_kept(landing, con):
    (landing / "crm" / "deals").mkdir(parents=True, exist_ok=True)
    old_header = "hs_object_id,dealname,dealstage,amount,createdate,lastmodifieddate"
    write(landing / "crm/deals/2023.csv", old_header + "\n1,Old,closedwon,100,2023-01-01,2023-01-02\n")
    write(landing / "crm/deals/2024.csv", old_header + ",contract_term_months\n"
          "2,New,closedwon,200,2024-01-01,2024-01-02,24\n"
          "3,Odd,closedwon,300,2024-01-01,2024-01-02,two years\n")
    res = load_source(con, contracts()["crm_deals"], landing)
    # the file from before the property existed is loaded, not refused; the term is NULL there
    assert [f.status for f in res.files] == ["loaded", "loaded"]
    assert res.summary()["rows_loaded"] == 3 and res.summary()["rows_quarantined"] == 0
    assert "'contract_term_months'" in res.files[0].message
    # an unreadable term does not cost the deal: staging falls back to the default term
    terms = con.execute("SELECT hs_object_id, contract_term_months FROM raw.crm_deals ORDER BY 1").fetchall()
    assert terms == [("1", None), ("2", "24"), ("3", "two years")]


def test_contract_identifiers_name_real_columns_and_known_kinds(tmp_path):
    from orchestration.extract.contracts import ContractError, load_contracts

    base = "sources:\n  t:\n    system: s\n    format: csv\n    path: t/*.csv\n    columns: [id, mail]\n"
    ok = tmp_path / "ok.yml"
    ok.write_text(base + "    identifiers: {email: [mail]}\n")
    assert load_contracts(ok)["t"].identifiers == {"email": ("mail",)}
    for bad, message in (("{email: [nope]}", "'nope' is not a column"), ("{iban: [mail]}", "unknown kind 'iban'")):
        path = tmp_path / "bad.yml"
        path.write_text(base + f"    identifiers: {bad}\n")
        with pytest.raises(ContractError, match=message):
            load_contracts(path)


def test_warehouse_connections_carry_the_memory_ceiling(tmp_path, monkeypatch):
    from orchestration.extract.loader import connect

    monkeypatch.setenv("CDW_DUCKDB_MEMORY_LIMIT", "700MB")
    with connect(tmp_path / "w.duckdb") as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] in ("667.5 MiB", "700.0 MB")
    monkeypatch.setenv("CDW_DUCKDB_MEMORY_LIMIT", "lots")
    with pytest.raises(ValueError, match="CDW_DUCKDB_MEMORY_LIMIT"):
        connect(tmp_path / "w.duckdb")


def _web_event(mid, ts):
    return f'{{"messageId":"{mid}","type":"page","anonymousId":"a-{mid}","timestamp":"{ts}"}}\n'


def test_retention_purges_by_the_typed_event_time_kept_at_load(landing, con, tmp_path, monkeypatch):
    """Raw keeps each web event's time typed (`_event_at`), so the purge on every load is a column
    scan instead of a JSON parse of the whole table; a table from before the column gets it filled."""
    from conftest import use_home

    from orchestration.extract.loader import ensure_raw_table
    from orchestration.governance import audit
    from orchestration.governance.erasure import enforce_after_load

    use_home(tmp_path / "home")
    contract = contracts()["web_events"]
    # a warehouse written before `_event_at` existed: one old row without it
    con.execute("CREATE SCHEMA raw; CREATE TABLE raw.web_events (payload VARCHAR, _file VARCHAR, _line BIGINT, "
                "_load_id VARCHAR, _loaded_at TIMESTAMP, _delivery_day DATE)")
    con.execute("INSERT INTO raw.web_events VALUES (?, 'web/events/2024-01-01.jsonl', 1, 'l0', now(), '2024-01-01')",
                [_web_event("m0", "2024-01-01T00:00:00Z").strip()])
    ensure_raw_table(con, contract)
    assert con.execute("SELECT _event_at FROM raw.web_events").fetchone()[0].year == 2024

    write(landing / "web/events/2026-10-02.jsonl",
          _web_event("m1", "2026-10-02T10:00:00Z") + _web_event("m2", "2025-08-01T10:00:00Z")
          + _web_event("m3", "2025-09-01T10:00:00+02:00"))
    load_source(con, contract, landing)
    typed = dict(con.execute("SELECT json_extract_string(payload, '$.messageId'), _event_at FROM raw.web_events").fetchall())
    assert typed["m3"].isoformat().startswith("2025-09-01") and typed["m3"].utcoffset() is not None

    # 400 days back from the newest event (2026-10-02): m0 (2024) and m2 (2025-08-01) are past it
    assert enforce_after_load(con, "web_events")["retention_purged_rows"] == 2
    left = {r[0] for r in con.execute("SELECT json_extract_string(payload, '$.messageId') FROM raw.web_events").fetchall()}
    assert left == {"m1", "m3"}
    assert [e["rows"] for e in audit.entries("retention_purge")] == [2]

    monkeypatch.setenv("CDW_RETENTION_WEB_EVENTS_DAYS", "30")  # the operator's override
    assert enforce_after_load(con, "web_events")["retention_purged_rows"] == 1
    monkeypatch.setenv("CDW_RETENTION_WEB_EVENTS_DAYS", "a year")
    with pytest.raises(ValueError, match="CDW_RETENTION_WEB_EVENTS_DAYS must be a whole number"):
        enforce_after_load(con, "web_events")
    assert enforce_after_load(con, "crm_contacts")["retention_purged_rows"] == 0  # no retention declared


def test_retention_needs_a_typed_time_field(tmp_path):
    from orchestration.extract.contracts import ContractError, load_contracts

    base = ("sources:\n  t:\n    system: s\n    format: csv\n    path: t/*.csv\n    columns: [id, at, note]\n"
            "    types: {at: timestamp}\n")
    ok = tmp_path / "ok.yml"
    ok.write_text(base + "    retention: {days: 30, by: at}\n")
    assert (load_contracts(ok)["t"].retention_days, load_contracts(ok)["t"].retention_by) == (30, "at")
    for bad, message in (("{days: 30, by: note}", "'note' must be a field typed date or timestamp"),
                         ("{days: 0, by: at}", "positive number of days")):
        path = tmp_path / "bad.yml"
        path.write_text(base + f"    retention: {bad}\n")
        with pytest.raises(ContractError, match=message):
            load_contracts(path)
