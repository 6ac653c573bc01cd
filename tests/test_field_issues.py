"""Bring your own data: a bad optional field costs the field, not the person; real exports load
through a column mapping (presets for HubSpot and Salesforce); `cdw check` reports what the
loader then loads; the raw gate blocks on rejected rows only and warns on field issues."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import duckdb
import pytest

from orchestration.extract import fields
from orchestration.extract.contracts import ContractError, contracts, with_preset
from orchestration.extract.loader import load_source

CONTACT_HEADER = ["hs_object_id", "firstname", "lastname", "email", "date_of_birth", "createdate", "lastmodifieddate"]


@pytest.fixture
def warehouse(tmp_path):
    return tmp_path / "wh.duckdb"




def write_csv(path, header, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


SALESFORCE_HEADER = ["Id", "AccountId", "FirstName", "LastName", "Email", "Phone", "MailingStreet", "MailingCity",
                     "MailingPostalCode", "MailingCountry", "Birthdate", "CreatedDate", "LastModifiedDate"]


def test_a_salesforce_export_loads_through_its_preset_with_the_right_fields(landing, con):
    write_csv(landing / "crm/contacts/Contact.csv", SALESFORCE_HEADER, [
        ["0035g00000ABCdeAAH", "0015g00000XYZabAAA", "Ada", "Lovelace", "ada@example.org", "+44 20 7946 0018",
         "12 St James's Sq", "London", "SW1Y 4JH", "United Kingdom", "1815-12-10",
         "2024-01-15T10:23:00.000+0000", "2024-02-01T08:00:00.000+0000"],
        ["0035g00000ABCdf", "", "Grace", "Hopper", "grace@example.org", "(212) 555-0100", "", "New York", "",
         "US", "", "", ""],  # a 15-character id; no times: the delivery time stands in downstream
        ["not-a-salesforce-id", "", "Eve", "X", "eve@example.org", "", "", "", "", "", "", "", ""],
    ])
    plain = load_source(con, contracts()["crm_contacts"], landing).files[0]
    assert plain.status == "refused" and "missing required column(s) ['hs_object_id']" in plain.message
    assert "--preset" in plain.message  # a header matching nothing says how to read it

    (landing / "crm/contacts/Contact.csv").write_text((landing / "crm/contacts/Contact.csv").read_text() + "\n")
    res = load_source(con, with_preset(contracts()["crm_contacts"], "salesforce"), landing).files[0]
    assert (res.status, res.rows_read, res.rows_loaded, res.rows_quarantined, res.field_issues) == ("loaded", 3, 2, 1, 0)
    assert res.unmapped_columns == ["AccountId"]  # company ids are integers here: reported, not guessed
    rows = con.execute(
        "SELECT hs_object_id, firstname, lastname, email, phone, address, city, zip, country, date_of_birth, "
        "createdate, lastmodifieddate FROM raw.crm_contacts ORDER BY _line").fetchall()
    assert rows == [
        ("0035g00000ABCdeAAH", "Ada", "Lovelace", "ada@example.org", "+44 20 7946 0018", "12 St James's Sq", "London",
         "SW1Y 4JH", "United Kingdom", "1815-12-10", "2024-01-15T10:23:00.000+0000", "2024-02-01T08:00:00.000+0000"),
        ("0035g00000ABCdf", "Grace", "Hopper", "grace@example.org", "(212) 555-0100", None, "New York", None, "US",
         None, None, None),
    ]
    assert con.execute("SELECT _line, reason FROM quarantine.rejected_rows").fetchall() == [
        (4, "hs_object_id: does not match the field's pattern")]


@pytest.mark.parametrize("fmt, text, expected", [
    ("YYYYMMDD", "19560409", "1956-04-09"),
    ("DD/MM/YYYY", "03/04/1980", "1980-04-03"),
    ("MM/DD/YYYY", "03/04/1980", "1980-03-04"),
    ("ISO", "1980-04-03", "1980-04-03"),
    ("ISO", "03/04/1980", None),    # never guessed: a field declared ISO does not read 03/04/1980
    ("DD/MM/YYYY", "13/13/1980", None),
])
def test_date_formats_are_declared_per_field_never_guessed(landing, con, fmt, text, expected):
    contract = replace(contracts()["crm_contacts"], formats={"date_of_birth": fmt})
    write_csv(landing / "crm/contacts/a.csv", CONTACT_HEADER, [["1", "Ann", "Lee", "", text, "", ""]])
    res = load_source(con, contract, landing).files[0]
    assert con.execute("SELECT date_of_birth FROM raw.crm_contacts").fetchone() == (expected,)
    assert res.rows_loaded == 1 and res.field_issues == (0 if expected else 1)
    if not expected:
        assert con.execute("SELECT reason FROM quarantine.field_issues").fetchone() == (f"not a valid date ({fmt})",)


def test_presets_and_formats_are_checked_when_sources_yml_is_read():
    with pytest.raises(ContractError, match="no preset 'sap'"):
        with_preset(contracts()["crm_contacts"], "sap")
    with pytest.raises(ContractError, match="not one of"):
        fields_ = contracts()["crm_contacts"]
        from orchestration.extract.contracts import _check_byod
        _check_byod("crm_contacts", "csv", fields_.columns, fields_.types, {"date_of_birth": "DD-MM-YY"}, {}, {}, {}, {})


def test_a_bad_birth_date_costs_the_field_and_is_masked(landing, con):
    write_csv(landing / "crm/contacts/a.csv", CONTACT_HEADER, [
        ["1", "Ann", "Lee", "ann@x.com", "1986-08-96", "2024-01-01", "2024-01-02"],
        ["2", "Bob", "Ray", "bob@x.com", "1862-01-01", "2024-01-01", "2024-01-02"],  # historical: plausible
    ])
    res = load_source(con, contracts()["crm_contacts"], landing).files[0]
    assert (res.rows_read, res.rows_loaded, res.rows_quarantined, res.field_issues) == (2, 2, 0, 1)
    assert con.execute("SELECT hs_object_id, email, date_of_birth FROM raw.crm_contacts ORDER BY 1").fetchall() == [
        ("1", "ann@x.com", None), ("2", "bob@x.com", "1862-01-01")]
    assert con.execute("SELECT source, _file, _line, column_name, reason, value FROM quarantine.field_issues").fetchall() == [
        ("crm_contacts", "crm/contacts/a.csv", 2, "date_of_birth", "not a valid date (ISO)", "9999-99-99")]
    assert "1986" not in res.message and res.message.endswith("1 field issue(s) loaded as NULL (date_of_birth=1)")


def test_cdw_check_reports_the_counts_the_loader_then_loads(landing, con, capsys):
    from orchestration.cli import main

    path = write_csv(landing / "crm/contacts/mixed.csv", CONTACT_HEADER + ["shoe_size"], [
        ["1", "Ann", "Lee", "ann@x.com", "1980-01-01", "2024-01-01", "2024-01-02", "42"],
        ["1", "Ann", "Lee", "ann@x.com", "1980-01-01", "2024-01-01", "2024-01-02", "42"],  # a copy
        ["", "No", "Id", "no@x.com", "", "", "", ""],                                        # rejected
        ["3", "Cy", "Doe", "cy@@x", "2999-01-01", "soon", "", ""],                            # 3 field issues
    ])
    assert main(["check", str(path), "--source", "crm_contacts", "--json"]) == 1  # a rejected row: violation
    checked = json.loads(capsys.readouterr().out)
    assert main(["check", str(path), "--source", "crm_contacts"]) == 1
    text = capsys.readouterr().out
    assert "rows read 4: would load 2, rejected 1, duplicates 1" in text
    assert "rejected: missing required field hs_object_id: 1" in text
    assert "unmapped columns (ignored): ['shoe_size']" in text and "cy@@x" not in text
    loaded = load_source(con, contracts()["crm_contacts"], landing).files[0]
    for key in ("rows_read", "rows_loaded", "rows_quarantined", "rows_duplicate", "field_issues",
                "issues_by_column", "rejects_by_reason", "unmapped_columns", "missing_columns", "message"):
        assert checked[key] == getattr(loaded, key), key
    assert checked["issues_by_column"] == {"createdate": {"not a valid timestamp (ISO)": 1},
                                           "date_of_birth": {"implausible: after 2100-12-31": 1},
                                           "email": {"not a valid email address (The part after the @-sign contains invalid characters)": 1}}
    assert con.execute("SELECT count(*) FROM raw.crm_contacts").fetchone()[0] == checked["rows_loaded"]
    # a file with field issues only is not a violation
    clean = write_csv(landing / "crm/contacts/issues_only.csv", CONTACT_HEADER, [["9", "A", "B", "not-an-email", "", "", ""]])
    assert main(["check", str(clean), "--source", "crm_contacts"]) == 0
    assert "result: OK (with field issues)" in capsys.readouterr().out


def _gate(warehouse):
    from data_quality.runner import validate_table
    from data_quality.suites import suite_modules

    module = {m.__name__.rsplit(".", 1)[-1]: m for m in suite_modules()}["raw_crm_contacts"]
    return validate_table(module, warehouse)


def test_bad_birth_dates_warn_unparseable_rows_block_and_removing_the_file_clears_it(landing, warehouse):
    """30% bad birth dates: the rows load, the gate only warns. 30% rows without their id: the gate
    blocks, naming the file and how to clear it; removing the file from landing clears it."""
    rows = [[str(i), "P", f"N{i}", f"p{i}@x.com", "1986-08-96" if i < 3 else "1980-01-01", "2024-01-01", "2024-01-02"]
            for i in range(10)]
    write_csv(landing / "crm/contacts/dob.csv", CONTACT_HEADER, rows)
    with duckdb.connect(str(warehouse)) as con:
        load_source(con, contracts()["crm_contacts"], landing)
    out = _gate(warehouse)
    assert out.success or not out.blocking
    warned = {e.column: e for e in out.failed}
    assert set(warned) == {"worst_delivery_field_issue_rate"} and warned["worst_delivery_field_issue_rate"].severity == "warning"
    assert warned["worst_delivery_field_issue_rate"].observed == pytest.approx(0.3)

    good = [[str(100 + i), "P", f"N{i}", f"q{i}@x.com", "", "2024-01-01", "2024-01-02"] for i in range(7)]
    (landing / "crm/contacts/no_ids.csv").write_text(  # 3 of 10 rows cannot be parsed
        "".join(write_csv(landing / "tmp.csv", CONTACT_HEADER, good).read_text()) + 'x;y;z\n"unterminated,1\n1,2\n')
    (landing / "tmp.csv").unlink()
    with duckdb.connect(str(warehouse)) as con:
        load_source(con, contracts()["crm_contacts"], landing)
    out = _gate(warehouse)
    assert out.blocking
    rate = {e.column: e for e in out.failed}["worst_delivery_quarantine_rate"]
    assert rate.observed == pytest.approx(0.3)
    assert "file=crm/contacts/no_ids.csv" in rate.samples[0] and "or remove it from landing" in rate.samples[0]

    (landing / "crm/contacts/no_ids.csv").unlink()
    with duckdb.connect(str(warehouse)) as con:
        load_source(con, contracts()["crm_contacts"], landing)
        assert con.execute("SELECT count(*) FROM raw.crm_contacts WHERE _file = 'crm/contacts/no_ids.csv'").fetchone() == (7,)
        assert con.execute("SELECT count(*) FROM quarantine.rejected_rows WHERE reason LIKE 'unparseable CSV row%'").fetchone() == (3,)
    out = _gate(warehouse)
    assert not out.blocking  # the delivery left landing: no longer judged (what loaded stays)


def test_the_run_summary_counts_field_issues_and_records_timed_by_their_delivery(landing, con):
    from orchestration.extract.loader import summary_lines

    write_csv(landing / "crm/contacts/a.csv", CONTACT_HEADER, [
        ["1", "Ann", "Lee", "ann@x.com", "1986-08-96", "", ""],   # no times: the delivery time stands in
        ["2", "Bob", "Ray", "bob@", "", "2024-01-01", "2024-01-02"],
    ])
    load_source(con, contracts()["crm_contacts"], landing)
    assert summary_lines(con) == [
        "Field issues (loaded as NULL, rows kept; quarantine.field_issues): crm_contacts.date_of_birth=1, crm_contacts.email=1",
        "Delivery time stands in for a missing created/modified time: crm_contacts=1"]


def test_the_plain_email_pattern_only_clears_addresses_email_validator_accepts():
    """The SQL fast path may send a valid address to email-validator, never pass an invalid one."""
    from email_validator import EmailNotValidError, validate_email

    locals_ = ["a", "ann.lee", "a+b", "x_y-z%1", "a" * 64, "a" * 65, ".a", "a.", "a..b", "o'brien", "jo hn", ""]
    domains = ["x.com", "mail.example.co.uk", "xn--bcher-kva.example", "-x.com", "x-.com", "a.b", "example.test",
               "example.local", "localhost", "x.c0m", "123.com", "x." + "a" * 63, "x." + "a" * 64, "x..com",
               "sub." + "d" * 63 + ".com", "x.museum"]
    addresses = [f"{lp}@{d}" for lp in locals_ for d in domains] + ["a" * 60 + "@" + "b" * 60 + "." + "c" * 60 + "." + "d" * 60 + ".com"]
    with duckdb.connect() as con:
        cleared = {a for a, ok in con.execute(
            f"SELECT a, {fields.plain_email_sql('a')} FROM unnest(?::VARCHAR[]) AS t(a)", [addresses]).fetchall() if ok}
    assert len(cleared) > 30
    for address in cleared:
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError as exc:
            pytest.fail(f"{address!r} cleared by the pattern but refused by email-validator: {exc}")


def test_a_delivery_with_30_percent_bad_birth_dates_runs_green_and_the_contact_merges(demo, tmp_path):
    """On the real pipeline: a contact whose birth date is a typo loads with the field NULL and one
    field issue, and still merges with the person it duplicates; 30% of the delivery's birth dates
    being bad does not hold the warehouse back."""
    from conftest import copy_of_demo, use_home

    from orchestration.runner import run_pipeline

    home = copy_of_demo(demo, tmp_path / "cdw")
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as c:
        contact_id, first, last, email, customer = c.execute(
            "SELECT contacts.contact_id, first_name, last_name, email_raw, records.customer_id "
            "FROM staging.stg_crm__contacts AS contacts JOIN marts.customer_source_records AS records "
            "ON records.source = 'crm_contacts' AND records.source_record_id = contacts.contact_id "
            "WHERE email IS NOT NULL AND first_name IS NOT NULL ORDER BY contacts.contact_id LIMIT 1").fetchone()
    rows = [["995000001", first, last, email, "1986-08-96", "2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z"]]
    rows += [[str(995000002 + i), "Newt", f"Person{i}", f"newt.person{i}@example-corp.com",
              "2199-01-01" if i < 2 else "1970-05-05", "2026-10-01T00:00:00Z", "2026-10-02T00:00:00Z"] for i in range(9)]
    write_csv(home / "landing/crm/contacts/contacts_byod.csv", CONTACT_HEADER, rows)
    use_home(home)
    result = run_pipeline()
    assert result.success
    evaluations = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
    assert "worst_delivery_field_issue_rate" in evaluations["gx_raw_crm_contacts"].metadata["failed_expectations"].value
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as c:
        assert c.execute("SELECT date_of_birth FROM raw.crm_contacts WHERE hs_object_id = '995000001'").fetchall() == [(None,)]
        assert c.execute("SELECT _line, column_name FROM quarantine.field_issues WHERE _file = 'crm/contacts/contacts_byod.csv' "
                         "ORDER BY 1").fetchall() == [(2, "date_of_birth"), (3, "date_of_birth"), (4, "date_of_birth")]
        assert c.execute("SELECT rows_read, rows_loaded, rows_quarantined, field_issues FROM raw._load_log "
                         "WHERE file = 'crm/contacts/contacts_byod.csv'").fetchall() == [(10, 10, 0, 3)]
        merged = c.execute("SELECT customer_id FROM marts.customer_source_records WHERE source = 'crm_contacts' "
                           "AND source_record_id = '995000001'").fetchone()
    assert merged == (customer,), (contact_id, customer, merged)


def test_the_raw_gate_accepts_what_the_loader_loaded_whatever_the_declared_formats(landing, warehouse, monkeypatch):
    from orchestration.extract import contracts as contracts_module

    declared = {**contracts(), "crm_contacts": replace(contracts()["crm_contacts"], formats={"date_of_birth": "DD/MM/YYYY",
                                                                                             "createdate": "MM/DD/YYYY"})}
    monkeypatch.setattr(contracts_module, "contracts", lambda: declared)
    import data_quality.raw_contract as raw_contract

    monkeypatch.setattr(raw_contract, "contracts", lambda: declared)
    write_csv(landing / "crm/contacts/a.csv", CONTACT_HEADER, [["1", "Ann", "Lee", "ann@x.com", "31/12/1980", "12/31/2023 10:00", ""]])
    with duckdb.connect(str(warehouse)) as con:
        load_source(con, declared["crm_contacts"], landing)
        assert con.execute("SELECT date_of_birth, createdate FROM raw.crm_contacts").fetchone() == ("1980-12-31", "2023-12-31T10:00:00")
    assert _gate(warehouse).success
