"""One rule per identifier kind, whichever side applies it: dbt's SQL macros (what staging and
identity produce) and the Python modules of orchestration/identifiers/ (what erasure, the ad
platform exports and `cdw explain` use) give the same answer on one shared table of cases, and
erasure's forms of every typed value include the one identity produced.

The cases are the spellings the sources carry (the demo generator's formats, and what real CRM
exports hold): Gmail dots, +tags and googlemail.com, case and surrounding spaces, national and
international phone formats, country names in several languages.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.governance.findings import LEDGER_TOKENS_SQL
from orchestration.governance.forms import phone_forms, region, tokens
from orchestration.identifiers import country, email, phone

REPO = Path(__file__).resolve().parent.parent

EMAILS = [
    "john.doe@gmail.com", " J.o.Hn+news@GoogleMail.com ", "JOHN.DOE+crm@GMAIL.COM", "johndoe@gmail.com",
    "j.o.h.n.d.o.e@googlemail.com", "Ann.Lee+tag@Example.COM", "  ann.lee@example.com  ", "ann_lee@sub.example.co.uk",
    "ANN@EXAMPLE.ORG", "ann@@example.com", "ann@example", "a b@example.com", "\tann@example.com", "ann@example.c",
    "", "null", "@gmail.com", "o'brien+x@gmail.com", "jürgen@müller.de", "x.y+z+w@gmail.com",
]
COUNTRIES = [
    *(s for spellings in country.SPELLINGS.values() for s in spellings),
    "united kingdom", " Deutschland ", "usa", "Scotland", "españa", "österreich", "the netherlands",
    "xx", "Xy", "Narnia", "", "U", "1A", "ÄB",
]
# (typed number, the country written on the record)
PHONES = [
    ("+1 (617) 555-0123", ""), ("(617) 555-0123", "United States"), ("617.555.0123", "USA"), ("1-617-555-0123", "US"),
    ("001 617 555 0123", "Germany"), ("+16175550123", None), ("6175550123", None),
    ("020 7946 0958", "United Kingdom"), ("+44 (0)20 7946 0958", None), ("0044 20 7946 0958", "UK"),
    ("0131 496 0958", "Scotland"), ("07700 900123", "England"), ("+44 7700 900123", "GB"),
    ("030 12345678", "Deutschland"), ("0151/23456789", "DE"), ("(0151) 23456789", "Germany"),
    ("+49 (0)151 23456789", ""), ("0049 151 23456789", "France"),
    ("06 12 34 56 78", "France"), ("06.12.34.56.78", "FR"), ("+33 6 12 34 56 78", None),
    ("06 1234 5678", "Italia"), ("020 123 4567", "Holland"), ("01 234 5678", "Ireland"), ("044 668 18 00", "Schweiz"),
    ("0000000", "US"), ("n/a", "US"), ("12", None), ("", "US"), ("+1 555 555 0123", None),
]


def _dbt_compile(sql: str, tmp: Path, project: Path = REPO / "dbt_project") -> str:
    dbt = shutil.which("dbt", path=str(Path(sys.executable).parent)) or "dbt"
    env = {**os.environ, "CDW_WAREHOUSE": str(tmp / "compile.duckdb"), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    done = subprocess.run(
        [dbt, "compile", "--project-dir", str(project), "--profiles-dir", str(project), "--target-path",
         str(tmp / "target"), "--log-path", str(tmp / "logs"), "--inline", sql, "--output", "json", "--quiet"],
        env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return json.loads(done.stdout)["compiled"]


@pytest.fixture(scope="module")
def sql_side(tmp_path_factory):
    """Every case through dbt's own macros, compiled by dbt and run in DuckDB with the function
    dbt's connections register (phone_e164)."""
    tmp = tmp_path_factory.mktemp("normalization")
    compiled = _dbt_compile(
        "select i, {{ normalize_email('e') }} as email, {{ email_match_key(normalize_email('e')) }} as email_match_key, "
        "{{ country_iso2('c') }} as country_iso2 from cases", tmp)
    compiled_phone = _dbt_compile(
        "{{ config(materialized='table') }} select i, {{ normalize_phone_e164('p', country_iso2('c')) }} as phone_e164 "
        "from phone_cases", tmp)
    n = max(len(EMAILS), len(COUNTRIES))
    with duckdb.connect() as con:
        phone.register_udfs(con)
        con.execute("CREATE TABLE cases (i INTEGER, e VARCHAR, c VARCHAR)")
        con.executemany("INSERT INTO cases VALUES (?, ?, ?)",
                        [(i, EMAILS[i] if i < len(EMAILS) else None, COUNTRIES[i] if i < len(COUNTRIES) else None)
                         for i in range(n)])
        con.execute("CREATE TABLE phone_cases (i INTEGER, p VARCHAR, c VARCHAR)")
        con.executemany("INSERT INTO phone_cases VALUES (?, ?, ?)", [(i, p, c) for i, (p, c) in enumerate(PHONES)])
        rows = {i: (e, k, c) for i, e, k, c in con.execute(compiled + " order by i").fetchall()}
        phones = dict(con.execute(compiled_phone + " order by i").fetchall())
    return rows, phones


def test_emails_normalize_and_key_the_same_in_sql_and_python(sql_side):
    rows, _ = sql_side
    for i, typed in enumerate(EMAILS):
        sql_email, sql_key, _ = rows[i]
        assert (email.normalize(typed), email.match_key(email.normalize(typed))) == (sql_email, sql_key), typed


def test_countries_map_to_the_same_iso2_in_sql_and_python(sql_side):
    rows, _ = sql_side
    for i, spelling in enumerate(COUNTRIES):
        assert country.iso2(spelling) == rows[i][2], spelling


def test_phones_normalize_the_same_in_sql_and_python(sql_side):
    _, phones = sql_side
    for i, (typed, written_country) in enumerate(PHONES):
        assert phone.to_e164(typed, country.iso2(written_country)) == phones[i], (typed, written_country)


def test_erasure_finds_every_form_identity_produced(sql_side):
    rows, phones = sql_side
    for i, typed in enumerate(EMAILS):
        sql_email, sql_key, _ = rows[i]
        produced = {f"email:{v}" for v in (sql_email, sql_key) if v}
        assert produced <= tokens("email", typed), typed
    for i, (typed, written_country) in enumerate(PHONES):
        if phones[i]:
            assert phones[i] in phone_forms(typed, region(written_country)), (typed, written_country)
    # hand-worked: the Scottish national number and its international spellings are one identifier
    assert phone_forms("0131 496 0958", region("Scotland")) >= {"+441314960958"}
    assert phones[PHONES.index(("0131 496 0958", "Scotland"))] == "+441314960958"


def test_the_scan_derives_the_ledger_tokens_of_found_text_as_python_does():
    found = [e for e in (email.normalize(x) for x in EMAILS) if e]
    with duckdb.connect() as con:
        con.execute("CREATE TABLE found (k VARCHAR, v VARCHAR)")
        con.executemany("INSERT INTO found VALUES ('text', ?)", [[v] for v in found])
        got = dict(con.execute(f"SELECT v, list_filter({LEDGER_TOKENS_SQL}, x -> x IS NOT NULL) FROM found").fetchall())
    for v in found:
        assert set(got[v]) == tokens("email", v), v


def test_one_default_phone_country_for_dbt_and_python(tmp_path, monkeypatch):
    """dbt's var default_phone_country is the one setting: changed in dbt_project.yml, both the
    staging macro and the Python normalization read national numbers of records without a
    country in the new country."""
    from orchestration import settings

    project = tmp_path / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target*", "logs"))
    yml = project / "dbt_project.yml"
    assert 'default_phone_country: "US"' in yml.read_text()
    yml.write_text(yml.read_text().replace('default_phone_country: "US"', 'default_phone_country: "GB"'))
    # '(617) 555-0123' is a Boston number written the US way: valid only when read as American;
    # '020 7946 0958' is a London number written the UK way (trunk 0): valid only as British
    numbers = ["(617) 555-0123", "020 7946 0958"]
    us = ["+16175550123", None]
    gb = [None, "+442079460958"]

    def python_side():
        return [phone.to_e164(n) for n in numbers]

    def dbt_side(project_dir: Path):
        compiled = _dbt_compile("{{ config(materialized='table') }} select i, {{ normalize_phone_e164('p') }} "
                                "from numbers", tmp_path / project_dir.parent.name, project=project_dir)
        with duckdb.connect() as con:
            phone.register_udfs(con)
            con.execute("CREATE TABLE numbers AS SELECT * FROM (VALUES (0, ?), (1, ?)) t(i, p)", numbers)
            return [e164 for _, e164 in con.execute(compiled + " order by i").fetchall()]

    assert settings.default_phone_country() == "US"
    assert python_side() == us
    assert dbt_side(REPO / "dbt_project") == us
    monkeypatch.setattr(settings, "DBT_PROJECT_DIR", project)
    assert settings.default_phone_country() == "GB"
    assert python_side() == gb
    assert dbt_side(project) == gb
    # erasure's forms of a number from a record without a country follow it too
    assert phone.e164_forms("020 7946 0958") == {"+442079460958"}
