"""Identity resolution pieces tested directly: phone normalization, account clustering,
pairwise accuracy, the customer-id registry (stable ids, oldest survives, merges logged)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.identifiers.phone import register_udfs, to_e164
from orchestration.identity import accounts, registry
from orchestration.identity.accuracy import pairwise
from orchestration.identity.explain import _email_key
from orchestration.identity.graph import derive_customer_id

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("raw, region, expected", [
    ("+1 (415) 555-2671", None, "+14155552671"),
    ("(415) 555-2671", "US", "+14155552671"),
    ("415.555.2671 ext. 12", "US", "+14155552671"),
    ("001 415 555 2671", "DE", "+14155552671"),           # 00 = international prefix
    ("0151/23456789", "DE", "+4915123456789"),
    ("+49 (0)151 23456789", None, "+4915123456789"),
    ("07400 123456", "GB", "+447400123456"),
    ("0044 20 7946 0018", "FR", "+442079460018"),
    ("06.12.34.56.78", "FR", "+33612345678"),
    ("０１５１ ２３４５６７８９", "DE", "+4915123456789"),      # full-width digits
])
def test_phones_normalize_to_e164(raw, region, expected):
    assert to_e164(raw, region) == expected


@pytest.mark.parametrize("raw", [None, "", "   ", "NULL", "null", "n/a", "0000000", "12", "☎☎☎", "1" * 500,
                                 "+1 (415) 555-2671" * 20])
def test_phones_junk_empty_and_overlong_are_none(raw):
    assert to_e164(raw, "US") is None


def test_national_number_needs_its_region():
    # "0151 ..." is German; read as a US number it is not valid
    assert to_e164("0151 23456789", "US") is None
    assert to_e164("0151 23456789", "DE") == "+4915123456789"


def test_phone_e164_udf_is_to_e164_in_sql():
    # what dbt's staging models call (registered by the dbt-duckdb plugin of profiles.yml)
    cases = [("(415) 555-2671", "US"), ("0151/23456789", "DE"), ("0151/23456789", "US"), ("n/a", "US"),
             (None, "US"), ("+49 (0)151 23456789", None), ("", "FR")]
    rows = cases * 3000  # more than one 2,048-row vector, each value repeated
    with duckdb.connect() as con:
        register_udfs(con)
        con.execute("CREATE TABLE phones (i INTEGER, raw VARCHAR, region VARCHAR)")
        con.executemany("INSERT INTO phones VALUES (?, ?, ?)", [(i, *r) for i, r in enumerate(rows)])
        got = con.execute("SELECT phone_e164(raw, region) FROM phones ORDER BY i").fetchall()
        assert con.cursor().execute("SELECT phone_e164('(415) 555-2671', 'US')").fetchall() == [("+14155552671",)]
    assert [g for (g,) in got] == [to_e164(raw, region) for raw, region in rows]


def test_email_match_key_folds_gmail_only():
    assert _email_key(" J.O.hn.Doe+crm@GoogleMail.com ") == "johndoe@gmail.com"
    assert _email_key("j.o.hn+x@acme.com") == "j.o.hn+x@acme.com"


def test_account_name_key_drops_legal_suffixes_case_and_the():
    assert accounts.name_key("The Acme GmbH") == accounts.name_key("ACME") == "acme"
    assert accounts.name_key("Société Générale S.A.") == "societegenerale"
    assert accounts.name_key(None) is None and accounts.name_key("  ") is None


def test_accounts_unify_by_domain_and_name_but_not_free_mail_or_ambiguous_names():
    companies = pd.DataFrame([
        (1, "Acme Inc.", "acme.com"), (2, "ACME", None), (3, "Acme Holdings", "acme.com"),   # one company
        (4, "Gmail Fans", "gmail.com"), (5, "Other Fans", "gmail.com"),                    # free mail: no join
        (6, "Nova", "nova.io"), (7, "Nova", "nova.de"),                                    # one name, 2 domains
    ], columns=["company_id", "company_name", "domain"])
    out = accounts.clusters(companies, {"gmail.com"}).set_index("company_id")
    # the account takes the id of its anchor, the smallest company id: "acc_" + md5("1")[:16]
    # (md5("1") = c4ca4238a0b923820dcc509a6f75849b)
    assert out.loc[1, "account_id"] == out.loc[2, "account_id"] == out.loc[3, "account_id"] == "acc_c4ca4238a0b92382"
    assert out.loc[4, "account_id"] != out.loc[5, "account_id"]
    assert out.loc[6, "account_id"] != out.loc[7, "account_id"]
    assert out.loc[2, "link_reason"] == "name" and out.loc[3, "link_reason"] == "domain"


def test_pairwise_precision_recall_from_the_contingency_table():
    predicted = pd.Series(["a", "a", "a", "b", "c"])
    truth = pd.Series(["x", "x", "y", "y", "z"])
    m = pairwise(predicted, truth)
    # predicted pairs: 3 (all in a); true pairs: x(1) + y(1) = 2; correct: (0,1)
    assert (m["predicted_pairs"], m["true_pairs"], m["true_positive_pairs"]) == (3, 2, 1)
    assert m["precision"] == pytest.approx(1 / 3) and m["recall"] == pytest.approx(0.5)


def _records(components: dict[str, int]) -> pd.DataFrame:
    df = pd.DataFrame({"record_key": list(components), "component": list(components.values())})
    df["anchor_record_key"] = df.groupby("component")["record_key"].transform("min")
    return df


def _ids(out: pd.DataFrame) -> dict:
    return dict(zip(out["record_key"], out["customer_id"]))


# A new profile's id is "cus_" + the first 16 hex digits of the md5 of its anchor (smallest)
# record key - the values below are md5 of the key text, worked out once by hand
# (python -c 'import hashlib; print(hashlib.md5(b"crm:1").hexdigest()[:16])').
CRM_1 = "cus_6a572634d77c9b87"  # md5("crm:1")
CRM_5 = "cus_51d05539fb8aeb99"  # md5("crm:5")
WEB_9 = "cus_ae73860c424173bd"  # md5("web:9")


def test_new_profiles_take_the_id_of_their_anchor_record():
    assert derive_customer_id("crm:1") == CRM_1 and derive_customer_id("web:9") == WEB_9


def test_registry_ids_are_stable_across_runs_and_rebuilds_and_the_older_id_survives_a_merge(tmp_path):
    run1 = _records({"crm:1": 0, "crm:2": 0, "web:9": 1, "crm:5": 2})
    with duckdb.connect(str(tmp_path / "a.duckdb")) as con:
        first, merges = registry.assign(con, run1)
        assert merges.empty
        ids1 = _ids(first)
        assert ids1 == {"crm:1": CRM_1, "crm:2": CRM_1, "web:9": WEB_9, "crm:5": CRM_5}
        # same inputs again: same ids
        assert _ids(registry.assign(con, run1)[0]) == ids1
        # incremental: a new record joins web:9 and crm:5. Both ids were born in run 1, so the tie
        # goes to the smaller id: CRM_5 ("cus_51d0...") < WEB_9 ("cus_ae73..."); the new anchor
        # crm:0 ("cus_583e...") gives no id of its own
        run3 = _records({"crm:1": 0, "crm:2": 0, "web:9": 1, "crm:5": 1, "crm:0": 1})
        third, merges = registry.assign(con, run3, {1: "shared identifier: phone"})
        assert _ids(third) == {"crm:1": CRM_1, "crm:2": CRM_1, "web:9": CRM_5, "crm:5": CRM_5, "crm:0": CRM_5}
        assert merges.to_dict("records") == [
            {"old_customer_id": WEB_9, "new_customer_id": CRM_5, "reason": "shared identifier: phone"}]
        logged = con.execute("select run, old_customer_id, new_customer_id, reason from identity_registry.customer_merges").fetchall()
        assert logged == [(3, WEB_9, CRM_5, "shared identifier: phone")]
        # everyone in one profile: CRM_1 and CRM_5 were both born in run 1, so again the smaller id,
        # CRM_5 ("cus_51d0...") < CRM_1 ("cus_6a57..."); the newer record crm:7 takes over nothing
        run4 = _records({"crm:1": 0, "crm:2": 0, "web:9": 0, "crm:5": 0, "crm:0": 0, "crm:7": 0})
        fourth, merges = registry.assign(con, run4)
        assert set(_ids(fourth).values()) == {CRM_5}
        assert dict(con.execute("select customer_id, born_run from identity_registry.id_births "
                                "where customer_id in (?, ?)", [CRM_1, CRM_5]).fetchall()) == {CRM_1: 1, CRM_5: 1}
    # a rebuild from an empty warehouse with the first inputs gives the first ids
    with duckdb.connect(str(tmp_path / "b.duckdb")) as con:
        assert _ids(registry.assign(con, run1)[0]) == ids1


def test_registry_split_keeps_the_id_with_the_bigger_part(tmp_path):
    with duckdb.connect(str(tmp_path / "a.duckdb")) as con:
        first, _ = registry.assign(con, _records({"a": 0, "b": 0, "c": 0}))
        old = first["customer_id"].iloc[0]
        second, merges = registry.assign(con, _records({"a": 0, "b": 1, "c": 1}))
        ids = _ids(second)
        assert ids["b"] == ids["c"] == old and ids["a"] != old
        assert merges.empty


def test_registry_an_id_that_went_with_the_bigger_part_does_not_block_the_id_a_part_owns(tmp_path):
    with duckdb.connect(str(tmp_path / "a.duckdb")) as con:
        older = registry.assign(con, _records({"a1": 0, "a2": 0, "a3": 0}))[0]["customer_id"].iloc[0]
        younger = _ids(registry.assign(con, _records({"a1": 0, "a2": 0, "a3": 0, "b1": 1}))[0])["b1"]
        # a1 leaves its profile for b1's: the older id stays with a2 + a3, a1 and b1 keep b1's
        ids = _ids(registry.assign(con, _records({"a1": 1, "b1": 1, "a2": 0, "a3": 0}))[0])
        assert ids == {"a1": younger, "b1": younger, "a2": older, "a3": older}


def test_empty_inputs_give_empty_outputs(tmp_path):
    empty = pd.DataFrame({"company_id": pd.Series(dtype="int64"), "company_name": pd.Series(dtype=object),
                          "domain": pd.Series(dtype=object)})
    assert accounts.clusters(empty, {"gmail.com"}).empty
    with duckdb.connect(str(tmp_path / "a.duckdb")) as con:
        out, merges = registry.assign(con, _records({}))
        assert out.empty and merges.empty
        assert con.execute("select records, customers from identity_registry.runs").fetchall() == [(0, 0)]
