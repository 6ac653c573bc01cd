"""The landing failure paths an operator hits: files still being written, re-deliveries, numbers
dbt cannot hold, refusals logged once, links out of landing, messages that would echo a person's
row, invisible and overlong values, garbage lines. Each case runs the real loader on DuckDB."""

from __future__ import annotations

import csv
import io
import os
import threading
import time
from pathlib import Path

from orchestration.extract.contracts import contracts
from orchestration.extract.loader import load_source

HEADER = ["hs_object_id", "firstname", "lastname", "email", "phone", "createdate", "lastmodifieddate"]
PERSON = ["993003", "Hannah", "Leak", "hannah.leak@example.org", "+1 617 555 0142", "2024-01-01", "2024-01-02"]


def csv_text(header, rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if header:
        w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def contacts(con, landing):
    return load_source(con, contracts()["crm_contacts"], landing)


def row(i: int) -> list[str]:
    return [str(i), "Ann", f"Lee{i}", f"ann{i}@x.com", "", "2024-01-01", "2024-01-02"]


def test_a_file_still_being_written_waits_until_it_is_stable(landing, con, monkeypatch):
    """Failed before: the first half was loaded, then the whole file again (the half twice)."""
    monkeypatch.setenv("CDW_LANDING_SETTLE_SECONDS", "1")
    path = landing / "crm/contacts/growing.csv"
    lines = csv_text(HEADER, [row(i) for i in range(400)]).splitlines(keepends=True)
    path.write_text("".join(lines[:200]))  # the writer is half way, and goes on during the run

    def writer():
        for line in lines[200:]:
            with path.open("a") as fh:
                fh.write(line)
            time.sleep(0.005)

    t = threading.Thread(target=writer)
    t.start()
    first = contacts(con, landing)
    t.join()
    assert [f.status for f in first.files] == ["pending"]
    assert con.execute("SELECT count(*) FROM raw.crm_contacts").fetchone() == (0,)
    old = time.time() - 5  # the writer finished a while ago: stable
    os.utime(path, (old, old))
    second = contacts(con, landing)
    assert [(f.status, f.rows_loaded) for f in second.files] == [("loaded", 400)]
    assert con.execute("SELECT count(*), count(DISTINCT hs_object_id) FROM raw.crm_contacts").fetchone() == (400, 400)


def test_a_done_marker_declares_a_file_complete(landing, con):
    from dataclasses import replace

    contract = replace(contracts()["crm_contacts"], done_marker=".done")
    path = landing / "crm/contacts/batch.csv"
    path.write_text(csv_text(HEADER, [row(1)]))
    assert [f.status for f in load_source(con, contract, landing).files] == ["pending"]
    Path(str(path) + ".done").write_text("")
    assert [(f.file, f.status) for f in load_source(con, contract, landing).files] == [("crm/contacts/batch.csv", "loaded")]


def test_a_redelivered_file_replaces_its_rows_and_stale_quarantine(landing, con):
    """Failed before: the old rows stayed beside the new ones, and the cut line's rejection stayed."""
    path = landing / "crm/contacts/contacts.csv"
    path.write_text(csv_text(HEADER, [row(1), row(2)]) + '3,"Cut off')  # delivered cut short
    contacts(con, landing)
    assert con.execute("SELECT count(*) FROM quarantine.rejected_rows").fetchone() == (1,)
    path.write_text(csv_text(HEADER, [row(1), row(2), row(3)]))  # the complete file, same path
    old = time.time() + 5
    os.utime(path, (old, old))
    res = contacts(con, landing).files[0]
    assert (res.status, res.rows_loaded, res.replaced) == ("loaded", 3, True)
    assert con.execute("SELECT hs_object_id FROM raw.crm_contacts ORDER BY 1").fetchall() == [("1",), ("2",), ("3",)]
    assert con.execute("SELECT count(*) FROM quarantine.rejected_rows").fetchone() == (0,)
    assert con.execute("SELECT status, count(*) FROM raw._load_log GROUP BY 1 ORDER BY 1").fetchall() == [
        ("loaded", 1), ("replaced", 1)]


def test_numbers_outside_the_contract_range_are_field_issues_so_staging_never_fails(landing, con):
    """Failed before: 1e400, NaN, Infinity and 1e20 passed the number check, and staging's cast to
    DECIMAL(18,2) failed on every run."""
    header = ["hs_object_id", "dealname", "dealstage", "amount", "createdate", "lastmodifieddate"]
    amounts = ["1e400", "NaN", "Infinity", "-inf", "1e20", "12.50", "-3", "1.5e3"]
    (landing / "crm/deals/deals.csv").write_text(csv_text(header, [
        [str(i + 1), f"D{i}", "closedwon", a, "2024-01-01", "2024-01-02"] for i, a in enumerate(amounts)]))
    res = load_source(con, contracts()["crm_deals"], landing).files[0]
    assert (res.rows_loaded, res.rows_quarantined, res.field_issues) == (8, 0, 5)
    assert con.execute("SELECT value, reason FROM quarantine.field_issues ORDER BY _line").fetchall() == [
        ("1e400", "not a finite number"), ("NaN", "not a finite number"), ("Infinity", "not a finite number"),
        ("-inf", "not a finite number"), ("1e20", "out of range for DECIMAL(18,2)")]
    # what stg_crm__deals computes (macro to_amount): no row can fail it any more
    got = con.execute("SELECT cast(try_cast(nullif(trim(amount), '') AS DOUBLE) AS DECIMAL(18, 2)) FROM raw.crm_deals "
                      "ORDER BY _line").fetchall()
    assert [None if v is None else float(v) for (v,) in got] == [None] * 5 + [12.5, -3.0, 1500.0]


def test_a_file_refused_for_its_header_is_logged_once_until_it_changes(landing, con):
    """Failed before: refused and logged again on every run."""
    path = landing / "crm/contacts/dupe_header.csv"
    path.write_text(csv_text(HEADER + ["email"], [row(1) + ["x@y.com"]]))
    assert [f.status for f in contacts(con, landing).files] == ["refused"]
    assert [f.status for f in contacts(con, landing).files] == ["unchanged"]
    assert [f.status for f in contacts(con, landing).files] == ["unchanged"]
    assert con.execute("SELECT status, message FROM raw._load_log").fetchall() == [
        ("refused", "crm/contacts/dupe_header.csv: line 1: duplicate header columns at positions [4, 8] (['email'])")]
    path.write_text(csv_text(HEADER, [row(1)]))  # fixed: read again
    later = time.time() + 5
    os.utime(path, (later, later))
    assert [f.status for f in contacts(con, landing).files] == ["loaded"]


def test_symlinks_and_paths_outside_landing_are_refused_unread(landing, con, tmp_path):
    """Failed before: a link to a file outside landing was followed and its lines quarantined."""
    secret = tmp_path / "outside" / "passwd"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n" * 20)
    (landing / "web/events/2024-01-01.jsonl").symlink_to(secret)
    (landing / "crm/contacts/linked.csv").symlink_to(secret)
    linked_dir = tmp_path / "outside" / "marketing"  # a whole landing folder linked elsewhere
    (linked_dir / "email_members").mkdir(parents=True)
    (linked_dir / "email_members" / "members.csv").write_text(
        "member_id,list_id,email_address,status,last_changed\nm1,l1,hannah.leak@example.org,subscribed,2024-01-01\n")
    (landing / "marketing").symlink_to(linked_dir, target_is_directory=True)
    contracts_ = contracts()
    results = [load_source(con, contracts_[name], landing) for name in ("crm_contacts", "web_events", "email_members")]
    refused = [f for r in results for f in r.files]
    assert sorted(f.file for f in refused) == ["crm/contacts/linked.csv", "marketing/email_members/members.csv",
                                               "web/events/2024-01-01.jsonl"]
    for f in refused:
        assert f.status == "refused" and "symbolic link" in f.message and f.rows_read == 0
    assert con.execute("SELECT count(*) FROM raw.email_members").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM quarantine.rejected_rows").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM raw.web_events").fetchone() == (0,)
    assert "root" not in str(con.execute("SELECT * FROM raw._load_log").fetchall())
    again = load_source(con, contracts_["web_events"], landing)  # logged once, not every run
    assert [f.status for f in again.files] == ["unchanged"]
    assert con.execute("SELECT count(*) FROM raw._load_log").fetchone() == (3,)


def test_a_headerless_csv_is_refused_without_echoing_its_first_row(landing, con):
    """Failed before: "header has ['993003', 'Hannah', 'Leak', 'hannah.leak@…', …]"."""
    (landing / "crm/contacts/no_header.csv").write_text(csv_text(None, [PERSON, row(2)]))
    res = contacts(con, landing).files[0]
    assert res.status == "refused"
    logged = str(con.execute("SELECT * FROM raw._load_log").fetchall())
    for value in PERSON:
        assert value not in res.message and value not in logged
    assert "missing required column(s) ['hs_object_id']; 0 of the header's 7 columns match the contract" in res.message


def test_no_loader_message_carries_a_value_of_a_row(landing, con):
    bad = [["x" * 300, "Zoë", "Q", "zoe@x.com", "", "", ""],            # rejected: id too long
           ["5", "Hannah", "Leak", "hannah@@leak", "555-LEAK", "yesterday", ""]]  # field issues
    (landing / "crm/contacts/a.csv").write_text(csv_text(HEADER, bad))
    res = contacts(con, landing).files[0]
    texts = [res.message, str(res.issues_by_column), str(res.rejects_by_reason),
             str(con.execute("SELECT * FROM raw._load_log").fetchall()),
             str(con.execute("SELECT reason FROM quarantine.rejected_rows").fetchall()),
             str(con.execute("SELECT reason, value FROM quarantine.field_issues").fetchall())]
    for value in ("Zoë", "Hannah", "Leak", "hannah@@leak", "555-LEAK", "xxxxxxxx"):
        assert not any(value in t for t in texts), value
    assert "yesterday" in texts[-1]  # a non-personal field issue keeps its value


def test_overlong_nul_and_zero_width_values(landing, con):
    """Failed before: a 5,000-character email, NUL bytes and a zero-width-only name loaded as is."""
    rows = [["1", "An\x00n", "\u200b", "a" * 4990 + "@example.org", "", "2024-01-01", "2024-01-02"],
            ["2", "Bob\x07", "Ray\u200b", "bob@example.org", "", "2024-01-01", "2024-01-02"],
            ["3", "\x00", "\ufeff \u200d", "  ", "", "2024-01-01", "2024-01-02"]]
    (landing / "crm/contacts/odd.csv").write_text(csv_text(HEADER, rows))
    res = contacts(con, landing).files[0]
    assert (res.rows_read, res.rows_loaded, res.rows_quarantined) == (3, 3, 0)
    got = con.execute("SELECT hs_object_id, firstname, lastname, email FROM raw.crm_contacts ORDER BY 1").fetchall()
    assert got == [("1", "Ann", None, None), ("2", "Bob", "Ray\u200b", "bob@example.org"), ("3", None, None, None)]
    (reason,) = con.execute("SELECT reason FROM quarantine.field_issues WHERE column_name = 'email'").fetchone()
    assert reason.startswith("not a valid email address (The email address is too long")


def test_identical_garbage_lines_are_rejects_not_duplicates(landing, con):
    body = csv_text(HEADER, [row(1)]) + "garbage\n" * 50 + ",,,,,,\n" * 50
    (landing / "crm/contacts/junk.csv").write_text(body)
    (landing / "web/events/2024-01-01.jsonl").write_text("garbage\n" * 30 + "{}\n" * 30)
    c = contacts(con, landing).files[0]
    e = load_source(con, contracts()["web_events"], landing).files[0]
    assert (c.rows_read, c.rows_loaded, c.rows_quarantined, c.rows_duplicate) == (101, 1, 100, 0)
    assert (e.rows_read, e.rows_loaded, e.rows_quarantined, e.rows_duplicate) == (60, 0, 60, 0)
