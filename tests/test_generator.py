"""The demo source generator: contract shape, determinism, ground truth and planted mess."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from orchestration.demo import vocab
from orchestration.demo.generator import DEFAULT_END_DATE, generate

REPO = Path(__file__).resolve().parent.parent
CONTRACTS = yaml.safe_load((REPO / "orchestration" / "sources.yml").read_text())["sources"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    landing = tmp_path_factory.mktemp("small") / "landing"
    summary = generate(landing, people=300, seed=42)
    return landing, summary


@pytest.fixture(scope="module")
def medium(tmp_path_factory):
    """Big enough that every kind of planted mess shows up (malformed rows need >= 1000-row blocks)."""
    landing = tmp_path_factory.mktemp("medium") / "landing"
    summary = generate(landing, people=3000, seed=7)
    return landing, summary


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _csv_rows(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, [dict(zip(header, row)) for row in reader]


def _web_lines(landing: Path):
    """(file, line number, raw line) for every web event line."""
    for f in sorted((landing / "web" / "events").glob("*.jsonl")):
        rel = f.relative_to(landing).as_posix()
        with open(f, encoding="utf-8") as fh:
            for i, line in enumerate(fh, start=1):
                yield rel, i, line.rstrip("\n")


def _truth(landing: Path, name: str = "people.csv") -> dict[tuple[str, str], str]:
    _, rows = _csv_rows(landing / "_truth" / name)
    key = "person_id" if name == "people.csv" else "company_id"
    out = {}
    for r in rows:
        k = (r["source"], r["source_record_id"])
        assert k not in out, f"truth lists {k} twice"
        out[k] = r[key]
    return out


def _malformed(landing: Path) -> set[tuple[str, int]]:
    _, rows = _csv_rows(landing / "_truth" / "malformed.csv")
    return {(r["file"], int(r["line"])) for r in rows}


# ---- a strict reading of the contract, to find the rows that break it ----------------------
def _parses(value: str, typ: str) -> bool:
    try:
        if typ == "integer":
            return re.fullmatch(r"-?\d+", value) is not None
        if typ == "number":
            return re.fullmatch(r"-?\d+(\.\d+)?", value) is not None
        if typ == "timestamp":
            datetime.fromisoformat(value)
            return True
        if typ == "date":
            date.fromisoformat(value)
            return re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None
        if typ == "boolean":
            return value.lower() in ("true", "false")
        if typ == "id":  # text record ids (CRM exports other than HubSpot's API use strings)
            return value.strip() != ""
        if typ in ("email", "phone"):
            # their syntax is judged by maintained libraries in the loader (email-validator,
            # libphonenumber); the generator plants its malformed values in the other types
            return True
    except ValueError:
        return False
    raise AssertionError(typ)


def _breaks_contract(record: dict, contract: dict) -> bool:
    for f in contract.get("required", []):
        if record.get(f) in (None, ""):
            return True
    for f, typ in contract.get("types", {}).items():
        v = record.get(f)
        if v not in (None, "") and not _parses(str(v), typ):
            return True
    for f, allowed in contract.get("allowed", {}).items():
        v = record.get(f)
        if v not in (None, "") and v not in allowed:
            return True
    return False


def _contract_violations(landing: Path) -> tuple[set[tuple[str, int]], Counter]:
    bad, total = set(), Counter()
    for c in CONTRACTS.values():
        if c["format"] == "csv":
            for f in sorted(landing.glob(c["path"])):
                rel = f.relative_to(landing).as_posix()
                _, rows = _csv_rows(f)
                total[rel] += len(rows)
                for i, row in enumerate(rows):
                    if _breaks_contract(row, c):
                        bad.add((rel, i + 2))   # header is line 1
        else:
            for rel, i, line in _web_lines(landing):
                total[rel] += 1
                try:
                    ev = json.loads(line)
                except json.JSONDecodeError:
                    bad.add((rel, i))
                    continue
                if _breaks_contract(ev, c) or not (ev.get("anonymousId") or ev.get("userId")):
                    bad.add((rel, i))
    return bad, total


# ---- tests -------------------------------------------------------------------------------
def test_every_contract_source_has_files_with_the_exact_header(small):
    landing, _ = small
    for name, c in CONTRACTS.items():
        files = sorted(landing.glob(c["path"]))
        assert files, f"no file for source {name} ({c['path']})"
        if c["format"] == "csv":
            for f in files:
                header, rows = _csv_rows(f)
                assert header == c["columns"], f"{f}: header differs from sources.yml"
                assert rows, f"{f} is empty"


def test_layout_of_the_landing_area(small):
    landing, _ = small
    expected = {f"web/events/{(DEFAULT_END_DATE - timedelta(days=d)).isoformat()}.jsonl" for d in range(30)}
    got = {p.relative_to(landing).as_posix() for p in (landing / "web" / "events").iterdir()}
    assert got == expected
    for rel in ("crm/contacts/contacts.csv", "crm/companies/companies.csv", "crm/deals/deals.csv",
                "marketing/email_members/members.csv", "marketing/email_campaigns/campaigns.csv",
                "marketing/email_events/email_events.csv", "marketing/ad_spend/ad_spend.csv",
                "_truth/people.csv", "_truth/companies.csv", "_truth/summary.json", "_truth/malformed.csv"):
        assert (landing / rel).is_file(), rel
    assert not (landing / ".generator-tmp").exists()


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(small, tmp_path):
    landing, _ = small
    again = tmp_path / "again"
    generate(again, people=300, seed=42)
    a, b = _files(landing), _files(again)
    assert a.keys() == b.keys()
    for rel in a:
        assert a[rel] == b[rel], f"{rel} differs between two runs with the same seed"
    other = tmp_path / "other"
    generate(other, people=300, seed=43)
    c = _files(other)
    for rel in ("crm/contacts/contacts.csv", "marketing/email_members/members.csv", "_truth/people.csv"):
        assert a[rel] != c[rel], f"{rel} does not depend on the seed"
    assert a["web/events/2026-10-20.jsonl"] != c["web/events/2026-10-20.jsonl"]


def test_summary_counts_match_the_files(small):
    landing, summary = small
    on_disk = json.loads((landing / "_truth" / "summary.json").read_text())
    assert on_disk == json.loads(json.dumps(summary))
    for rel, n in summary["files"].items():
        lines = (landing / rel).read_text(encoding="utf-8").count("\n")
        assert lines == n + (1 if rel.endswith(".csv") else 0), rel
    assert summary["crm_contacts"] == summary["files"]["crm/contacts/contacts.csv"]
    assert summary["web_events"] == sum(v for k, v in summary["files"].items() if k.startswith("web/"))


def test_ground_truth_covers_every_record(small):
    landing, _ = small
    people = _truth(landing)
    _, contacts = _csv_rows(landing / "crm/contacts/contacts.csv")
    _, members = _csv_rows(landing / "marketing/email_members/members.csv")
    anon = set()
    for _, _, line in _web_lines(landing):
        try:
            anon.add(json.loads(line)["anonymousId"])
        except (json.JSONDecodeError, KeyError):
            pass
    expected = ({("crm_contacts", r["hs_object_id"]) for r in contacts}
                | {("email_members", r["member_id"]) for r in members}
                | {("web_visitors", a) for a in anon})
    assert expected <= people.keys()
    # truth lists nothing that is not in the sources (a visitor whose every line was malformed aside)
    extra = people.keys() - expected
    assert all(s == "web_visitors" for s, _ in extra) and len(extra) <= 2
    assert all(re.fullmatch(r"P\d{8}", p) for p in people.values())
    companies = _truth(landing, "companies.csv")
    _, crm_companies = _csv_rows(landing / "crm/companies/companies.csv")
    assert companies.keys() == {("crm_companies", r["hs_object_id"]) for r in crm_companies}


def test_ids_are_unique(medium):
    landing, _ = medium
    for rel, key in (("crm/contacts/contacts.csv", "hs_object_id"), ("crm/companies/companies.csv", "hs_object_id"),
                     ("crm/deals/deals.csv", "hs_object_id"), ("marketing/email_members/members.csv", "member_id"),
                     ("marketing/email_events/email_events.csv", "event_id"),
                     ("marketing/email_campaigns/campaigns.csv", "campaign_id")):
        _, rows = _csv_rows(landing / rel)
        ids = [r[key] for r in rows]
        assert len(ids) == len(set(ids)), f"duplicate {key} in {rel}"
    # messageId repeats only for planted re-deliveries, which carry the same payload
    by_id = defaultdict(list)
    for _, _, line in _web_lines(landing):
        try:
            ev = json.loads(line)
        except json.JSONDecodeError:
            continue
        by_id[ev["messageId"]].append(ev)
    repeated = [evs for evs in by_id.values() if len(evs) > 1]
    n = sum(len(v) for v in by_id.values())
    assert 0 < len(repeated) < 0.01 * n
    for evs in repeated:
        assert len(evs) == 2
        a, b = (dict(e) for e in evs)
        if a["timestamp"] == b["timestamp"]:     # not the copy with a planted bad timestamp
            a.pop("receivedAt"), b.pop("receivedAt")
            assert a == b


def test_member_id_is_the_mailchimp_subscriber_hash(small):
    landing, _ = small
    _, members = _csv_rows(landing / "marketing/email_members/members.csv")
    for r in members:
        assert r["member_id"] == hashlib.md5(r["email_address"].lower().encode()).hexdigest()
    statuses = Counter(r["status"] for r in members)
    assert statuses.most_common(1)[0][0] == "subscribed"


def test_planted_duplicates_and_shared_identifiers(medium):
    landing, summary = medium
    people = _truth(landing)
    _, contacts = _csv_rows(landing / "crm/contacts/contacts.csv")
    per_person = Counter(people[("crm_contacts", r["hs_object_id"])] for r in contacts)
    assert max(per_person.values()) >= 2
    assert sum(1 for v in per_person.values() if v >= 2) > 0.15 * len(per_person)
    # the same email typed differently (case / whitespace) for one person
    raw_by_norm = defaultdict(set)
    persons_by_email = defaultdict(set)
    for r in contacts:
        norm = r["email"].strip().lower()
        if norm:
            raw_by_norm[norm].add(r["email"])
            persons_by_email[norm].add(people[("crm_contacts", r["hs_object_id"])])
    assert any(len(v) > 1 for v in raw_by_norm.values())
    # role mailboxes: one address, several different people (the truth must keep them apart)
    shared = {e for e, p in persons_by_email.items() if len(p) > 1}
    assert shared and all(e.split("@")[0] in vocab.ROLE_MAILBOXES for e in shared)
    # switchboards: one phone number on contacts of several different people
    digits = defaultdict(set)
    for r in contacts:
        if r["phone"]:
            digits[re.sub(r"\D", "", r["phone"])[-9:]].add(people[("crm_contacts", r["hs_object_id"])])
    assert any(len(p) > 1 for p in digits.values())
    # gmail dots / +tags / googlemail somewhere in the sources
    _, members = _csv_rows(landing / "marketing/email_members/members.csv")
    emails = [r["email"] for r in contacts] + [r["email_address"] for r in members]
    assert any("+" in e and "gmail" in e for e in emails) or any("googlemail" in e for e in emails)
    planted = summary["planted"]
    for key in ("crm_duplicate_alt", "crm_duplicate_case_ws", "crm_duplicate_name_typos", "crm_role_mailbox_contacts",
                "crm_switchboard_contacts", "web_late_events", "web_redelivered_events"):
        assert planted.get(key, 0) > 0, key


def test_visitors_identify_later_and_userid_follows_identify(medium):
    landing, _ = medium
    people = _truth(landing)
    events = defaultdict(list)
    for _, _, line in _web_lines(landing):
        try:
            ev = json.loads(line)
        except json.JSONDecodeError:
            continue
        events[ev["anonymousId"]].append(ev)
    identified_later = 0
    uid_person = {}
    for anon, evs in events.items():
        evs.sort(key=lambda e: (e["timestamp"], e["type"] != "track"))
        ident = [i for i, e in enumerate(evs) if e["type"] == "identify"]
        if ident and ident[0] > 0 and "userId" not in evs[0]:
            identified_later += 1
        for e in evs:
            if "userId" in e:
                uid_person.setdefault(e["userId"], set()).add(people[("web_visitors", anon)])
        if not ident:
            assert not any("userId" in e for e in evs)
    assert identified_later > 50
    # a userId always belongs to exactly one person
    assert uid_person and all(len(p) == 1 for p in uid_person.values())
    # and there are visitors who never identify
    assert any(not any(e["type"] == "identify" for e in evs) for evs in events.values())


def test_web_events_follow_the_segment_spec(small):
    landing, _ = small
    ts = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
    kinds = Counter()
    campaigns = set()
    for _, _, line in _web_lines(landing):
        try:
            ev = json.loads(line)
        except json.JSONDecodeError:
            continue
        kinds[ev["type"]] += 1
        assert ev["type"] in ("track", "page", "identify")
        for k in ("timestamp", "sentAt", "receivedAt"):
            assert ts.fullmatch(ev[k]) or k == "timestamp", ev[k]
        assert ev["sentAt"] <= ev["receivedAt"]
        assert set(ev["context"]["page"]) == {"path", "referrer", "search", "title", "url"}
        assert ev["context"]["ip"] and ev["context"]["userAgent"]
        if ev["type"] == "track":
            assert ev["event"] and isinstance(ev["properties"], dict)
        elif ev["type"] == "page":
            assert ev["name"] and ev["properties"]["path"] == ev["context"]["page"]["path"]
        else:
            assert "traits" in ev
            assert ev["traits"].get("email") or ev.get("userId")
        if "campaign" in ev["context"]:
            c = ev["context"]["campaign"]
            campaigns.add((c["source"], c["medium"], c["name"]))
            assert f"utm_campaign={c['name']}" in ev["context"]["page"]["url"]
    assert kinds["page"] > kinds["track"] > kinds["identify"] > 0
    paths = {json.loads(line)["context"]["page"]["path"] for _, _, line in _web_lines(landing)
             if line.endswith("}") and line.startswith("{")}
    assert {"/", "/pricing", "/demo"} <= paths and any(p.startswith("/blog/") for p in paths)
    # ad-driven landings carry exactly the UTM values of the ad platforms' spend rows
    _, spend = _csv_rows(landing / "marketing/ad_spend/ad_spend.csv")
    spend_utm = {(r["utm_source"], r["utm_medium"], r["utm_campaign"]) for r in spend}
    ad = {c for c in campaigns if c[1] != "email"}
    assert ad and ad <= spend_utm
    assert {r["platform"] for r in spend} == {"google_ads", "meta_ads", "linkedin_ads"}


def test_late_and_out_of_order_events(medium):
    landing, _ = medium
    late = unordered = 0
    for f in sorted((landing / "web" / "events").glob("*.jsonl")):
        day = f.name[:10]
        stamps = []
        for line in f.read_text(encoding="utf-8").splitlines():
            try:
                stamps.append(json.loads(line)["timestamp"])
            except json.JSONDecodeError:
                continue
        late += sum(1 for s in stamps if s[:10] < day)
        unordered += stamps != sorted(stamps)
        # an event is never filed before its day (planted invalid timestamps aside)
        assert all(s[:10] <= day for s in stamps if _parses(s, "timestamp"))
    assert late > 0 and unordered > 0


def test_malformed_rows_are_exactly_the_planted_ones_and_rare(medium):
    landing, summary = medium
    planted = _malformed(landing)
    bad, total = _contract_violations(landing)
    assert bad == planted
    assert planted, "a 3000-people run should plant a few malformed rows"
    per_file = Counter(f for f, _ in planted)
    for f, n in per_file.items():
        assert n / total[f] < 0.01, f"{f}: {n} of {total[f]} rows malformed"
    assert sum(per_file.values()) / sum(total.values()) < 0.002
    assert summary["malformed_rows"] == len(planted)
    kinds = {r["kind"] for r in _csv_rows(landing / "_truth/malformed.csv")[1]}
    assert {"truncated_json", "bad_timestamp"} <= kinds


def test_small_run_has_no_malformed_rows_in_small_files(small):
    landing, _ = small
    bad, total = _contract_violations(landing)
    assert bad == _malformed(landing)
    for f, n in Counter(f for f, _ in bad).items():
        assert n / total[f] < 0.01


def test_crm_is_consistent(medium):
    landing, _ = medium
    _, contacts = _csv_rows(landing / "crm/contacts/contacts.csv")
    _, companies = _csv_rows(landing / "crm/companies/companies.csv")
    _, deals = _csv_rows(landing / "crm/deals/deals.csv")
    company_ids = {r["hs_object_id"] for r in companies}
    contact_by_id = {r["hs_object_id"]: r for r in contacts}
    assoc = [r["associatedcompanyid"] for r in contacts if re.fullmatch(r"\d+", r["associatedcompanyid"])]
    assert assoc and set(assoc) <= company_ids
    won = 0
    for d in deals:
        if d["dealstage"] in ("closedwon", "closedlost"):
            assert d["closedate"]
        if re.fullmatch(r"\d+", d["associated_company_id"]):
            assert d["associated_company_id"] in company_ids
        if d["associated_contact_id"]:
            contact = contact_by_id[d["associated_contact_id"]]
            if d["dealstage"] == "closedwon" and contact["lifecyclestage"] in CONTRACTS["crm_contacts"]["allowed"]["lifecyclestage"]:
                assert contact["lifecyclestage"] == "customer"
                won += 1
    assert won > 0
    domains = [r["domain"] for r in companies if r["domain"]]
    assert any(d.startswith("www.") for d in domains) and any(d != d.lower() for d in domains)
    assert any(r["date_of_birth"] for r in contacts)
    assert any(r["hs_email_optout"] == "true" for r in contacts)
    countries = {r["country"] for r in contacts}
    assert {"United States", "Germany", "France", "United Kingdom"} <= countries


def test_email_activity_belongs_to_members_and_campaigns(medium):
    landing, _ = medium
    _, members = _csv_rows(landing / "marketing/email_members/members.csv")
    _, campaigns = _csv_rows(landing / "marketing/email_campaigns/campaigns.csv")
    _, events = _csv_rows(landing / "marketing/email_events/email_events.csv")
    member = {r["member_id"]: r for r in members}
    camp_ids = {r["campaign_id"] for r in campaigns}
    kinds = Counter()
    for e in events:
        assert e["member_id"] in member and e["campaign_id"] in camp_ids
        assert e["email_address"] == member[e["member_id"]]["email_address"]
        kinds[e["event_type"]] += 1
        if e["event_type"] == "click":
            assert "utm_campaign=" in e["url"]
    sends = kinds["send"]
    assert 0.18 < kinds["open"] / sends < 0.35
    assert 0.02 < kinds["click"] / sends < 0.07
    assert kinds["bounce"] > 0 and kinds["unsubscribe"] > 0
    assert {r["utm_campaign"] for r in campaigns} and all(r["utm_campaign"] for r in campaigns)


def test_volumes_per_person(medium):
    _, s = medium
    n = s["people"]
    assert 1.2 < s["crm_contacts"] / n < 1.4
    assert 0.17 < s["crm_companies"] / n < 0.23
    assert 0.25 < s["crm_deals"] / n < 0.35
    assert 8 < s["web_events"] / n < 12
    assert 4 < s["email_events"] / n < 6


def test_phone_numbers_are_valid_and_parse(medium):
    phonenumbers = pytest.importorskip("phonenumbers")
    landing, _ = medium
    region = {"United States": "US", "USA": "US", "US": "US", "United States of America": "US",
              "United Kingdom": "GB", "UK": "GB", "England": "GB", "GB": "GB", "Germany": "DE",
              "Deutschland": "DE", "DE": "DE", "France": "FR", "FR": "FR"}
    _, contacts = _csv_rows(landing / "crm/contacts/contacts.csv")
    checked = 0
    for r in contacts:
        for p in (r["phone"], r["mobilephone"]):
            if p:
                # national formats only appear on records that name their country; "00" = "+"
                q = "+" + p[2:] if p.startswith("00") else p
                n = phonenumbers.parse(q, region.get(r["country"], None if q.startswith("+") else "US"))
                assert phonenumbers.is_valid_number(n), p
                checked += 1
    assert checked > 1000


def test_vocab_is_safe_to_embed_in_json_and_csv():
    """The generator writes vocab strings into JSON literals without an encoder."""
    def strings(x):
        if isinstance(x, str):
            yield x
        elif isinstance(x, (tuple, list)):
            for y in x:
                yield from strings(y)
        elif isinstance(x, dict):
            for k, v in x.items():
                yield from strings(k)
                yield from strings(v)
    json_fragments = {"FORMS", "TRACKS", "TRIAL_STARTED", "CONSENT_CHOICES"}
    for name in dir(vocab):
        if name.isupper():
            for s in strings(getattr(vocab, name)):
                assert "\\" not in s and "\n" not in s, (name, s)
                if name in json_fragments and s.startswith("{"):
                    json.loads(s.replace("%s", "x"))
                else:
                    assert '"' not in s, (name, s)


def test_window_parameters(tmp_path):
    s = generate(tmp_path / "l", people=50, seed=1, end_date=date(2026, 1, 5), days=3)
    names = sorted(p.name for p in (tmp_path / "l/web/events").iterdir())
    assert names == ["2026-01-03.jsonl", "2026-01-04.jsonl", "2026-01-05.jsonl"]
    assert s["days"] == 3 and s["end_date"] == "2026-01-05"


def test_cli(tmp_path):
    out = subprocess.run([sys.executable, "-m", "orchestration.demo.generator", "--people", "40", "--seed", "3",
                          "--landing", str(tmp_path / "cli")], cwd=REPO, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["people"] == 40
    assert (tmp_path / "cli/crm/contacts/contacts.csv").is_file()


def test_deals_carry_a_realistic_mix_of_contract_terms(medium):
    landing, _ = medium
    _, deals = _csv_rows(landing / "crm/deals/deals.csv")
    terms = Counter(d["contract_term_months"] for d in deals)
    share = {t: n / len(deals) for t, n in terms.items()}
    # mostly annual, some monthly and multi-year, a few left empty or written as free text
    assert set(terms) == {"1", "12", "24", "36", "", "two years"}
    assert share["12"] > 0.4 and min(share["1"], share["24"], share["36"]) > 0.04 and share[""] < 0.1
