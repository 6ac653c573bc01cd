"""The erasure scan at scale: `benchmarks.erasure_scan.measure_erasure` on a copy of the demo
warehouse, and the in-DuckDB scan finding every kind of identifier it looks for."""

from __future__ import annotations

import hashlib
import shutil

import duckdb
from conftest import use_home

KEY = "test-erasure-key-0123456789abcdef"


def test_measure_erasure_on_the_demo(demo, tmp_path, monkeypatch):
    from benchmarks.erasure_scan import measure_erasure

    home = tmp_path / "cdw"
    shutil.copytree(demo.home, home, ignore=shutil.ignore_patterns("dagster"))
    monkeypatch.setenv("CDW_ERASURE_KEY", KEY)
    try:
        result = measure_erasure(home, people=3)
    finally:
        use_home(demo.home)
    assert result["people_erased"] == 3 and result["erasures_in_ledger"] == 3
    assert result["source_records"] >= 3 and result["purge_raw_rows_erased"] >= 3
    for part in ("erase", "purge", "scan"):
        assert result[f"{part}_seconds"] > 0
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        rows = sum(con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0] for s, t in tables)
    assert result["scan_rows_scanned"] > rows  # every table of the warehouse, then the snapshot's
    assert result["scan_files_scanned"] >= 6  # three exports and their manifests at least
    # purged from raw without a rebuild, so still in the tables dbt rebuilds in the next run
    assert result["scan_locations_still_holding_before_rebuild"] > 0
    assert not any(v for k, v in result.items() if isinstance(v, str))  # counts and seconds only


def test_scan_finds_each_kind_of_identifier_by_keyed_hash(tmp_path):
    from orchestration.governance.ledger import keyed
    from orchestration.governance.scan import scan_database, scan_files

    key = KEY.encode()
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA raw; CREATE SCHEMA marts")
        con.execute("""CREATE TABLE raw.web_events (payload VARCHAR); INSERT INTO raw.web_events VALUES
            ('{"anonymousId": "anon-x", "traits": {"email": "John.Doe+news@Gmail.com"}}'), ('{"userId":"u-7"}'),
            ('{"anonymousId": "someone-else"}')""")
        con.execute("CREATE TABLE raw.crm_contacts (hs_object_id VARCHAR, phone VARCHAR); "
                    "INSERT INTO raw.crm_contacts VALUES (' 123 ', '+14155550100'), ('999', NULL)")
        con.execute("CREATE TABLE marts.customers (customer_id VARCHAR, note VARCHAR, n BIGINT); INSERT INTO "
                    "marts.customers VALUES ('cus_0123456789abcdef', 'h ' || sha256('x@y.com'), 1), ('cus_ffffffffffffffff', NULL, 2)")
        con.execute("CREATE TABLE marts.deals (contact_id BIGINT); INSERT INTO marts.deals VALUES (123), (5)")
        # a web visitor id is the anonymousId, else 'user:' + userId
        con.execute("CREATE TABLE marts.web_sessions (visitor_id VARCHAR); INSERT INTO marts.web_sessions VALUES "
                    "('anon-x'), ('user:u-7'), ('u-7'), ('user:anon-x'), (NULL)")
    erased = ["web_anonymous:anon-x", "email:johndoe@gmail.com", "web_user:u-7", "crm_contact:123",
              "phone:+14155550100", "customer:cus_0123456789abcdef", "sha256:" + hashlib.sha256(b"x@y.com").hexdigest()]
    tomb = {keyed(key, t) for t in erased}
    stats = {}
    found = scan_database(db, key, tomb, stats)
    assert found == {
        "w.duckdb:raw.web_events.payload": 3,              # anonymousId, userId, the Gmail address's match key
        "w.duckdb:raw.crm_contacts.hs_object_id": 1,
        "w.duckdb:raw.crm_contacts.phone": 1,
        "w.duckdb:marts.customers.customer_id": 2,          # as text and as an id column
        "w.duckdb:marts.customers.note": 1,                 # a hashed email in free text
        "w.duckdb:marts.deals.contact_id": 1,               # an integer id column
        "w.duckdb:marts.web_sessions.visitor_id": 2,        # anon-x and user:u-7, not u-7 nor user:anon-x
    }
    assert stats == {"tables": 5, "rows": 14}
    export = tmp_path / "audience.csv"
    export.write_text("email\nx@y.com\nJohn.Doe+news@gmail.com\nnobody@example.com\n")
    assert scan_files([export], key, tomb | {keyed(key, "email:x@y.com")}) == {export: 2}
    assert scan_database(db, key, {keyed(key, "email:nobody@example.com")}) == {}


def test_enforcement_after_a_load_checks_every_row_only_when_the_ledger_changed(tmp_path, monkeypatch):
    """Erasures are enforced on all of raw when the tombstone ledger changed, else on the rows
    loaded since the last enforcement - including rows of a load that died before enforcing."""
    from orchestration.extract.contracts import contracts
    from orchestration.extract.loader import load_source
    from orchestration.governance.enforcement import enforce_after_load
    from orchestration.governance.forms import tokens
    from orchestration.governance.ledger import append_tombstone

    home = tmp_path / "home"
    use_home(home)
    monkeypatch.setenv("CDW_ERASURE_KEY", KEY)
    contract = contracts()["crm_contacts"]
    folder = home / "landing" / "crm" / "contacts"
    folder.mkdir(parents=True)

    def deliver(name, *rows):
        (folder / name).write_text("hs_object_id,email,lifecyclestage,createdate,lastmodifieddate\n" + "".join(
            f"{i},{email},lead,2026-01-01,{modified}\n" for i, email, modified in rows))

    def emails(con):
        return sorted(r[0] for r in con.execute("SELECT email FROM raw.crm_contacts").fetchall())

    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        deliver("a.csv", (1, "ann@x.com", "2026-01-02"), (2, "bob@x.com", "2026-01-02"))
        load_source(con, contract, home / "landing")
        assert enforce_after_load(con, "crm_contacts")["erased_rows"] == 0  # nothing erased yet
        append_tombstone(KEY.encode(), tokens("email", "Ann@x.com"), via="test")
        assert enforce_after_load(con, "crm_contacts")["erased_rows"] == 1  # new ledger: every row
        assert emails(con) == ["bob@x.com"]
        # a row that did not come through a load (written by hand, dated before the enforcement):
        # with the ledger unchanged, enforcement does not look at old rows again
        con.execute("INSERT INTO raw.crm_contacts (hs_object_id, email, _loaded_at) VALUES ('9', 'ann@x.com', '2000-01-01')")
        # the source re-sends Ann; a load dies before enforcing, the next load enforces for both
        deliver("b.csv", (1, "ann@x.com", "2026-01-03"))
        load_source(con, contract, home / "landing")
        deliver("c.csv", (3, "cy@x.com", "2026-01-03"))
        load_source(con, contract, home / "landing")
        assert enforce_after_load(con, "crm_contacts")["erased_rows"] == 1
        assert emails(con) == ["ann@x.com", "bob@x.com", "cy@x.com"]  # only the hand-written old row left
        # another erasure: the ledger changed, every row is checked again
        append_tombstone(KEY.encode(), tokens("email", "cy@x.com"), via="test")
        assert enforce_after_load(con, "crm_contacts")["erased_rows"] == 2
        assert emails(con) == ["bob@x.com"]


def test_a_repeated_scan_skips_what_it_found_clean_unless_it_changed(tmp_path):
    from orchestration.governance.ledger import keyed
    from orchestration.governance.scan import scan_database

    key = KEY.encode()
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA raw; CREATE SCHEMA marts")
        con.execute("CREATE TABLE raw.web_events (payload VARCHAR, _loaded_at TIMESTAMP)")
        con.execute("""INSERT INTO raw.web_events VALUES ('{"anonymousId": "a1"}', TIMESTAMP '2024-01-01'),
                       ('{"anonymousId": "a2"}', TIMESTAMP '2024-01-02'), ('{"anonymousId": "a3"}', NULL)""")
        con.execute("CREATE TABLE marts.customers (customer_id VARCHAR); INSERT INTO marts.customers VALUES "
                    "('cus_0000000000000001'), ('cus_0000000000000002')")
        con.execute("CREATE TABLE marts.kept (email VARCHAR); INSERT INTO marts.kept VALUES ('gone@example.com')")
    tomb = {keyed(key, "email:gone@example.com")}
    memory: dict = {}

    def scan(ledger=tomb):
        stats: dict = {}
        return scan_database(db, key, ledger, stats, memory), stats

    # first scan: every row; the table still holding the erased email is not remembered as clean
    assert scan() == ({"w.duckdb:marts.kept.email": 1}, {"tables": 3, "rows": 6})
    assert set(memory) == {"raw.web_events", "marts.customers"}
    # nothing changed: only the row without a load time and the table that held the email
    assert scan() == ({"w.duckdb:marts.kept.email": 1},
                      {"tables": 3, "rows": 2, "rows_verified_before": 4, "tables_verified_before": 1})
    with duckdb.connect(str(db)) as con:
        con.execute("""INSERT INTO raw.web_events VALUES ('{"anonymousId": "erased-visitor"}', TIMESTAMP '2024-01-03')""")
        con.execute("UPDATE marts.customers SET customer_id = 'cus_0000000000000003' WHERE customer_id LIKE '%2'")
        con.execute("DELETE FROM marts.kept")
    erased = tomb | {keyed(key, "web_anonymous:erased-visitor")}
    # the ledger changed: everything is scanned again, and the new load is found
    assert scan(erased) == ({"w.duckdb:raw.web_events.payload": 1}, {"tables": 3, "rows": 6})
    with duckdb.connect(str(db)) as con:
        con.execute("DELETE FROM raw.web_events WHERE payload LIKE '%erased-visitor%'")
    assert scan(erased) == ({}, {"tables": 3, "rows": 3, "rows_verified_before": 2, "tables_verified_before": 2})
    with duckdb.connect(str(db)) as con:
        con.execute("""INSERT INTO raw.web_events VALUES ('{"anonymousId": "erased-visitor"}', TIMESTAMP '2024-01-04')""")
        con.execute("UPDATE marts.customers SET customer_id = 'cus_0000000000000004' WHERE customer_id LIKE '%3'")
    # a new load: the rows loaded after the last clean scan (and those without a load time); a changed table whole
    assert scan(erased) == ({"w.duckdb:raw.web_events.payload": 1},
                            {"tables": 3, "rows": 4, "rows_verified_before": 2, "tables_verified_before": 1})
    with duckdb.connect(str(db)) as con:
        con.execute("DELETE FROM raw.web_events WHERE payload LIKE '%erased-visitor%'")
    assert scan(erased) == ({}, {"tables": 3, "rows": 3, "rows_verified_before": 2, "tables_verified_before": 2})
    with duckdb.connect(str(db)) as con:
        # a row loaded before the last clean scan changed in place: the whole table again
        con.execute("""UPDATE raw.web_events SET payload = '{"anonymousId": "erased-visitor"}' WHERE payload LIKE '%a1%'""")
    assert scan(erased) == ({"w.duckdb:raw.web_events.payload": 1},
                            {"tables": 3, "rows": 3, "rows_verified_before": 2, "tables_verified_before": 2})


def test_enforcement_reads_national_phones_in_the_country_as_people_type_it(tmp_path, monkeypatch):
    """A phone identity normalized to +441314960958 (national '0131 496 0958' on a record from
    'Scotland', which dbt's country_iso2 reads as GB) is erased; the source re-delivers the number
    in other spellings and countries. Every spelling of it is nulled (a phone alone never deletes
    a CSV row), another number from the same country is kept."""
    from orchestration.extract.contracts import contracts
    from orchestration.extract.loader import load_source
    from orchestration.governance.enforcement import enforce_after_load
    from orchestration.governance.ledger import append_tombstone

    home = tmp_path / "home"
    use_home(home)
    monkeypatch.setenv("CDW_ERASURE_KEY", KEY)
    folder = home / "landing" / "crm" / "contacts"
    folder.mkdir(parents=True)
    rows = [(1, "(0131) 496 0958", "Scotland"), (2, "0131 496 0958", "U.K."), (3, "+44 (0)131 496 0958", ""),
            (4, "0044 131 4960958", "USA"), (5, "0131 496 0959", "Scotland"), (6, "0131 496 0958", "")]
    (folder / "a.csv").write_text("hs_object_id,phone,country,createdate,lastmodifieddate\n" + "".join(
        f"{i},{phone},{country},2026-01-01,2026-01-02\n" for i, phone, country in rows))
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        load_source(con, contracts()["crm_contacts"], home / "landing")
        append_tombstone(KEY.encode(), {"phone:+441314960958"}, via="test")
        assert enforce_after_load(con, "crm_contacts")["nulled_phones"] == 5
        kept = dict(con.execute("SELECT hs_object_id, phone FROM raw.crm_contacts ORDER BY 1").fetchall())
    # 5 is another number. 6 has no country (national to the default region, US, it is no number),
    # but its text is exactly the erased person's national spelling: erasure nulls the text wherever it is.
    assert kept == {"1": None, "2": None, "3": None, "4": None, "5": "0131 496 0959", "6": None}
