"""The bad-input corpus: every kind of broken delivery either quarantines its bad rows with a
reason (and the batch goes on) or is refused with an error naming file, line and problem.
Accounting holds for every load: rows read = rows loaded + rows quarantined, and every
non-blank physical line after a CSV header is a row read.

The corpus is generated here (bytes spelled out beside each case) so each case reads as its
own specification; tests/bad_inputs/README.md lists the cases.
"""

from __future__ import annotations

import gzip
import json

from orchestration.extract.contracts import contracts
from orchestration.extract.loader import load_source

HEADER = "hs_object_id,firstname,lastname,email,lifecyclestage,createdate,lastmodifieddate"
GOOD = "{id},Ann,Lee,ann{id}@x.com,lead,2024-01-01T00:00:00Z,2024-01-02T00:00:00Z"


def contacts(con, landing):
    return load_source(con, contracts()["crm_contacts"], landing)


def events(con, landing):
    return load_source(con, contracts()["web_events"], landing)


def accounted(result) -> dict:
    """The summary, after asserting the accounting identity per file and in the load log."""
    for f in result.files:
        assert f.rows_read == f.rows_loaded + f.rows_quarantined + f.rows_duplicate, f
        assert f.field_issues == sum(sum(r.values()) for r in f.issues_by_column.values()), f
    return result.summary()


def quarantine(con) -> dict[int, str]:
    return dict(con.execute("SELECT _line, reason FROM quarantine.rejected_rows ORDER BY _line").fetchall())


def loaded_lines(con, table="raw.crm_contacts") -> list[int]:
    return [r[0] for r in con.execute(f"SELECT _line FROM {table} ORDER BY _line").fetchall()]


def data_lines(path) -> int:
    """Non-blank physical lines after the header: what 'rows read' must equal."""
    lines = path.read_bytes().split(b"\n")[1:]
    return sum(1 for line in lines if line.strip())


# --- CSV ---------------------------------------------------------------------------------------

def test_unterminated_quote_rejects_one_line_not_the_rest_of_the_file(landing, con):
    path = landing / "crm/contacts/quote.csv"
    path.write_text(
        HEADER + "\n" + GOOD.format(id=1) + "\n"
        '2,"Bob,Ray,bob@x.com,lead,2024-01-01,2024-01-02\n'  # the quote never closes
        + "\n".join(GOOD.format(id=i) for i in range(3, 9)) + "\n"
    )
    s = accounted(contacts(con, landing))
    assert s["rows_read"] == data_lines(path) == 8
    assert (s["rows_loaded"], s["rows_quarantined"]) == (7, 1)
    assert quarantine(con) == {3: "unparseable CSV row: unterminated quote"}
    assert loaded_lines(con) == [2, 4, 5, 6, 7, 8, 9]  # physical lines, not row numbers


def test_stray_quote_pairing_with_a_later_one_does_not_swallow_the_lines_between(landing, con):
    path = landing / "crm/contacts/pair.csv"
    path.write_text(
        HEADER + "\n"
        '1,"Ann,Lee,ann@x.com,lead,2024-01-01,2024-01-02\n'   # opens a quote ...
        + GOOD.format(id=2) + "\n"
        '3,Cy,"Doe,cy@x.com,lead,2024-01-01,2024-01-02\n'    # ... that this one would close
        + GOOD.format(id=4) + "\n"
    )
    s = accounted(contacts(con, landing))
    assert s["rows_read"] == 4 and s["rows_loaded"] == 2
    assert set(quarantine(con)) == {2, 4}
    assert loaded_lines(con) == [3, 5]


def test_legit_multiline_value_keeps_later_line_numbers_right(landing, con):
    header = "hs_object_id,firstname,lastname,email,address,createdate,lastmodifieddate"
    (landing / "crm/contacts/multi.csv").write_text(
        header + "\n"
        '1,Ann,Lee,a@x.com,"1 Main St\nApt 2",2024-01-01,2024-01-02\n'
        "\n"  # a blank line is not a row
        "2,Bob,Ray,b@x.com,,2024-01-01,2024-01-02\n"
        "3,Cy,Doe,c@x.com,x,2024-01-01\n"  # one field short
    )
    s = accounted(contacts(con, landing))
    assert (s["rows_read"], s["rows_loaded"], s["rows_quarantined"]) == (3, 2, 1)
    assert con.execute("SELECT _line, address FROM raw.crm_contacts ORDER BY 1").fetchall() == [
        (2, "1 Main St\nApt 2"), (5, None)]
    assert quarantine(con) == {6: "unparseable CSV row: expected 7 fields, found 6"}


def test_wrong_delimiter_file_is_refused_and_row_is_quarantined(landing, con):
    (landing / "crm/contacts/semicolon.csv").write_text(HEADER.replace(",", ";") + "\n1;Ann;Lee\n")
    (landing / "crm/contacts/one_row.csv").write_text(
        HEADER + "\n" + GOOD.format(id=1) + "\n" + GOOD.format(id=2).replace(",", ";") + "\n"
    )
    res = contacts(con, landing)
    by_file = {f.file: f for f in res.files}
    refused = by_file["crm/contacts/semicolon.csv"]
    assert refused.status == "refused"
    assert refused.message.startswith("crm/contacts/semicolon.csv: line 1: missing required column(s)")
    assert by_file["crm/contacts/one_row.csv"].rows_quarantined == 1
    assert quarantine(con) == {3: "unparseable CSV row: expected 7 fields, found 1"}
    log = con.execute("SELECT file, status, message FROM raw._load_log WHERE status = 'refused'").fetchall()
    assert log == [("crm/contacts/semicolon.csv", "refused", refused.message)]


def test_bom_and_crlf_are_read_transparently(landing, con):
    body = (HEADER + "\r\n" + GOOD.format(id=1) + "\r\n" + GOOD.format(id=2) + "\r\n").encode()
    (landing / "crm/contacts/bom.csv").write_bytes(b"\xef\xbb\xbf" + body)
    s = accounted(contacts(con, landing))
    assert (s["rows_loaded"], s["rows_quarantined"]) == (2, 0)
    assert con.execute("SELECT hs_object_id, lastmodifieddate FROM raw.crm_contacts ORDER BY 1").fetchall() == [
        ("1", "2024-01-02T00:00:00Z"), ("2", "2024-01-02T00:00:00Z")]


def test_non_utf8_bytes_in_a_row_quarantine_that_line_only(landing, con):
    body = (HEADER + "\n" + GOOD.format(id=1) + "\n").encode() + "3,Jos\xe9,Lee,j@x.com,lead,2024-01-01,2024-01-02\n".encode(
        "latin-1") + (GOOD.format(id=4) + "\n").encode()
    (landing / "crm/contacts/latin1_row.csv").write_bytes(body)
    s = accounted(contacts(con, landing))
    assert (s["rows_read"], s["rows_loaded"], s["rows_quarantined"]) == (3, 2, 1)
    assert quarantine(con)[3].startswith("unparseable CSV row: not UTF-8 (byte 0xe9")
    assert loaded_lines(con) == [2, 4]


def test_missing_required_columns_refused_extra_and_renamed_columns_reported(landing, con):
    (landing / "crm/contacts/no_id.csv").write_text("firstname,createdate,lastmodifieddate\nAnn,2024-01-01,2024-01-01\n")
    (landing / "crm/contacts/drift.csv").write_text(
        "hs_object_id,first_name,lastname,createdate,lastmodifieddate,shoe_size\n1,Ann,Lee,2024-01-01,2024-01-02,42\n"
    )
    res = {f.file: f for f in contacts(con, landing).files}
    assert res["crm/contacts/no_id.csv"].status == "refused"
    assert "line 1: missing required column(s) ['hs_object_id']" in res["crm/contacts/no_id.csv"].message
    drift = res["crm/contacts/drift.csv"]
    assert drift.status == "loaded" and drift.rows_loaded == 1
    # a renamed column (first_name for firstname) is an extra column plus an absent one: both said
    assert "ignored extra columns ['first_name', 'shoe_size']" in drift.message
    assert "columns absent, loaded as NULL" in drift.message and "'firstname'" in drift.message
    assert con.execute("SELECT message FROM raw._load_log WHERE file = 'crm/contacts/drift.csv'").fetchone()[0] == drift.message


def test_wrong_types_and_impossible_dates_are_field_issues_a_bad_id_rejects_the_row(landing, con):
    (landing / "crm/contacts/types.csv").write_text(
        "hs_object_id,date_of_birth,hs_email_optout,createdate,lastmodifieddate\n"
        + "x" * 300 + ",,,2024-01-01,2024-01-02\n"   # 2: an id no CRM writes: rejected
        "2,0000-01-01,,2024-01-01,2024-01-02\n"    # 3: year 0
        "3,2024-02-30,,2024-01-01,2024-01-02\n"    # 4: no such day
        "4,,maybe,2024-01-01,2024-01-02\n"         # 5: not a boolean
        "5,,,2024-01-01,2999-01-01\n"              # 6: year 2999
        "6,2098-05-01,,2024-01-01,2024-01-02\n"    # 7: born in the future
        "7,1862-05-01,true,2024-01-01,2024-01-02\n"  # 8: fine (historical records are plausible)
        "abc,,,2024-01-01,2024-01-02\n"            # 9: fine (record ids are text)
    )
    s = accounted(contacts(con, landing))
    assert (s["rows_read"], s["rows_loaded"], s["rows_quarantined"], s["field_issues"]) == (8, 7, 1, 5)
    assert quarantine(con) == {2: "hs_object_id: longer than 255 characters"}
    issues = con.execute("SELECT _line, column_name, reason, value FROM quarantine.field_issues ORDER BY 1").fetchall()
    assert issues == [
        (3, "date_of_birth", "implausible: before 1800-01-01", "9999-99-99"),  # a birth date is masked
        (4, "date_of_birth", "not a valid date (ISO)", "9999-99-99"),
        (5, "hs_email_optout", "not a boolean", "maybe"),
        (6, "lastmodifieddate", "implausible: after 2100-12-31", "2999-01-01"),
        (7, "date_of_birth", "implausible: in the future", "9999-99-99"),
    ]
    assert con.execute("SELECT hs_object_id, date_of_birth, hs_email_optout FROM raw.crm_contacts "
                       "WHERE _line IN (3, 5, 8) ORDER BY _line").fetchall() == [
        ("2", None, None), ("4", None, None), ("7", "1862-05-01", "true")]


def test_empty_and_header_only_files(landing, con):
    (landing / "crm/contacts/empty.csv").write_bytes(b"")
    (landing / "crm/contacts/header_only.csv").write_text(HEADER + "\n")
    (landing / "web/events/empty.jsonl").write_bytes(b"")
    (landing / "web/events/blank_lines.jsonl").write_text("\n\n  \n")
    res = {f.file: f for f in contacts(con, landing).files + events(con, landing).files}
    assert res["crm/contacts/empty.csv"].status == "refused"
    assert "line 1: empty file" in res["crm/contacts/empty.csv"].message
    assert res["crm/contacts/header_only.csv"].status == "loaded" and res["crm/contacts/header_only.csv"].rows_read == 0
    for name in ("web/events/empty.jsonl", "web/events/blank_lines.jsonl"):
        assert res[name].status == "refused" and f"{name}: line 1: empty file" in res[name].message


def test_truncated_gzip_is_refused_naming_the_line(landing, con):
    rows = "".join(GOOD.format(id=i) + "\n" for i in range(1, 3001))
    data = gzip.compress((HEADER + "\n" + rows).encode())
    (landing / "crm/contacts/cut.csv.gz").write_bytes(data[: len(data) // 2])
    lines = [json.dumps({"messageId": f"m{i}", "type": "page", "timestamp": "2024-01-01T00:00:00Z",
                         "anonymousId": f"a{i}"}) for i in range(3000)]
    ev = gzip.compress(("\n".join(lines) + "\n").encode())
    (landing / "web/events/cut.jsonl.gz").write_bytes(ev[: len(ev) // 2])
    for f in contacts(con, landing).files + events(con, landing).files:
        assert f.status == "refused"
        assert f.message.startswith(f"{f.file}: line ") and "truncated or corrupt gzip" in f.message
        line = int(f.message.split("line ")[1].split(":")[0])
        assert 1 < line < 3001  # where the stream breaks, not line 1
    assert con.execute("SELECT count(*) FROM raw.crm_contacts").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM raw.web_events").fetchone()[0] == 0


def test_duplicate_delivery_and_redelivery_add_nothing_and_are_counted(landing, con):
    body = HEADER + "\n" + GOOD.format(id=1) + "\n" + GOOD.format(id=2) + "\n"
    (landing / "crm/contacts/a.csv").write_text(body)
    (landing / "crm/contacts/a (1).csv").write_text(body)  # the same delivery twice, other name
    first = contacts(con, landing)
    again = contacts(con, landing)
    assert [f.status for f in first.files] == ["loaded", "duplicate"]  # "a (1).csv" sorts first
    assert [f.status for f in again.files] == ["unchanged", "unchanged"]
    assert con.execute("SELECT count(*) FROM raw.crm_contacts").fetchone()[0] == 2
    assert con.execute("SELECT status, count(*) FROM raw._load_log GROUP BY 1 ORDER BY 1").fetchall() == [
        ("duplicate", 1), ("loaded", 1)]


def test_huge_values_are_field_issues_huge_json_lines_are_rejected(landing, con):
    big = "A" * (1024 * 1024)
    (landing / "crm/contacts/big.csv").write_text(
        HEADER + "\n" + GOOD.format(id=1) + "\n" + f"2,{big},Lee,b@x.com,lead,2024-01-01,2024-01-02\n"
    )
    (landing / "web/events/big.jsonl").write_text(
        json.dumps({"messageId": "m1", "type": "page", "timestamp": "2024-01-01T00:00:00Z", "anonymousId": "a"}) + "\n"
        + json.dumps({"messageId": "m2", "type": "page", "timestamp": "2024-01-01T00:00:00Z", "anonymousId": "a",
                      "properties": {"blob": big}}) + "\n"
    )
    s = accounted(contacts(con, landing))
    assert (s["rows_loaded"], s["rows_quarantined"], s["field_issues"]) == (2, 0, 1)
    assert con.execute("SELECT column_name, reason, length(value) < 100 FROM quarantine.field_issues").fetchall() == [
        ("firstname", f"too long: {len(big)} characters", True)]  # the shape of a sample, not the megabyte
    assert con.execute("SELECT firstname FROM raw.crm_contacts WHERE hs_object_id = '2'").fetchone() == (None,)
    assert accounted(events(con, landing))["rows_quarantined"] == 1
    reasons = con.execute("SELECT source, _line, reason, length(record) FROM quarantine.rejected_rows").fetchall()
    assert reasons[0][:2] == ("web_events", 2) and reasons[0][2].startswith("JSON line is too long")
    assert all(r[3] <= 4000 for r in reasons)  # quarantine keeps a sample, not the megabyte


def test_injection_strings_and_unicode_emails_load_verbatim(landing, con):
    nasty = [
        ("1", "Robert'); DROP TABLE raw.crm_contacts;--", "O'Brien", "bobby@x.com"),
        ("2", "<script>alert('x')</script>", '"; DELETE FROM quarantine.rejected_rows; --', "xss@x.com"),
        ("3", "José", "Müller", "josé.müller@exämple.de"),
        ("4", "用户", "测试", "用户@例子.广告"),
        ("5", "=cmd|' /C calc'!A0", "{{7*7}}", "формула@пример.рф"),
    ]
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["hs_object_id", "firstname", "lastname", "email", "createdate", "lastmodifieddate"])
    for row in nasty:
        w.writerow([*row, "2024-01-01", "2024-01-02"])
    (landing / "crm/contacts/nasty.csv").write_text(buf.getvalue(), encoding="utf-8")
    s = accounted(contacts(con, landing))
    assert (s["rows_loaded"], s["rows_quarantined"]) == (5, 0)
    got = con.execute("SELECT hs_object_id, firstname, lastname, email FROM raw.crm_contacts ORDER BY 1").fetchall()
    assert got == nasty
    assert con.execute("SELECT count(*) FROM raw._load_log").fetchone()[0] == 1  # nothing was executed


# --- JSON lines -----------------------------------------------------------------------------------

def test_malformed_json_lines_and_bad_bytes_keep_physical_line_numbers(landing, con):
    ok = '{"messageId":"m%d","type":"track","timestamp":"2024-01-01T00:00:00Z","anonymousId":"a"}'
    body = (
        (ok % 1 + "\n").encode()
        + b'{"messageId":"m2","type":"track","name":"\xff\xfe"}\n'  # not UTF-8
        + (ok % 3 + "\n").encode()
        + b'{"messageId":"m4",\n'  # cut JSON
        + b"{'single': 'quotes'}\n"
        + (ok % 6).encode()  # last line without a newline
    )
    (landing / "web/events/mixed.jsonl").write_bytes(body)
    s = accounted(events(con, landing))
    assert (s["rows_read"], s["rows_loaded"], s["rows_quarantined"]) == (6, 3, 3)
    assert loaded_lines(con, "raw.web_events") == [1, 3, 6]
    reasons = quarantine(con)
    assert reasons[2].startswith("unreadable line: not UTF-8")
    assert reasons[4] == reasons[5] == "malformed JSON"


def test_same_event_twice_with_different_load_times_and_late_out_of_order_files(landing, con):
    ev = lambda mid, ts: json.dumps({"messageId": mid, "type": "page", "timestamp": ts, "anonymousId": "a"})  # noqa: E731
    (landing / "web/events/2024-01-03.jsonl").write_text(ev("m3", "2024-01-03T10:00:00Z") + "\n")
    events(con, landing)
    # later: the previous days arrive out of order, one event re-sent with a later load time
    (landing / "web/events/2024-01-01.jsonl").write_text(ev("m1", "2024-01-01T09:00:00Z") + "\n" + ev("m3", "2024-01-03T10:00:00Z") + "\n")
    (landing / "web/events/2024-01-02.jsonl").write_text(ev("m2", "2023-12-30T23:00:00Z") + "\n")  # a late event
    s = accounted(events(con, landing))
    assert (s["files_loaded"], s["rows_loaded"], s["rows_quarantined"]) == (2, 3, 0)
    copies = con.execute(
        "SELECT count(*), count(DISTINCT _loaded_at) FROM raw.web_events WHERE payload->>'$.messageId' = 'm3'"
    ).fetchone()
    assert copies == (2, 2)  # raw keeps both deliveries (lineage); staging keeps one per messageId


def test_demo_flow_dedups_resent_events_and_keeps_late_ones(demo):
    """On the real pipeline: re-sent events (the same messageId delivered twice) are one row in
    staging, and late events (in the next day's file) are kept."""
    (resent,) = demo.sql(
        "SELECT count(*) FROM (SELECT payload->>'$.messageId' FROM raw.web_events GROUP BY 1 HAVING count(*) > 1)"
    )[0]
    (late,) = demo.sql(
        "SELECT count(*) FROM raw.web_events WHERE strftime(CAST(payload->>'$.timestamp' AS TIMESTAMP), '%Y-%m-%d') "
        "< regexp_extract(_file, '(\\d{4}-\\d{2}-\\d{2})', 1)"
    )[0]
    assert resent > 0 and late > 0, "the generator plants re-deliveries and late events"
    assert demo.sql("SELECT count(*) - count(DISTINCT message_id) FROM staging.stg_web__events")[0][0] == 0
    (raw_ids,) = demo.sql("SELECT count(DISTINCT payload->>'$.messageId') FROM raw.web_events")[0]
    assert demo.sql("SELECT count(*) FROM staging.stg_web__events")[0][0] == raw_ids
