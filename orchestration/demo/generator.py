"""Demo source generator: one simulated population rendered as three source systems.

    generate(landing, people=100_000, seed=42) -> summary dict

writes, under `landing/` (paths and columns as in orchestration/sources.yml):

    crm/contacts/contacts.csv            HubSpot contact properties (~1.3 rows per person)
    crm/companies/companies.csv          HubSpot company properties (~0.2 per person)
    crm/deals/deals.csv                  HubSpot deals (~0.3 per person; contract term 1/12/24/36 months)
    web/events/YYYY-MM-DD.jsonl          Segment track/page/identify events (~10 per person)
    marketing/email_members/members.csv  Mailchimp-like list members
    marketing/email_campaigns/campaigns.csv
    marketing/email_events/email_events.csv   sends, opens, clicks, bounces, unsubscribes (~5/person)
    marketing/ad_spend/ad_spend.csv      spend per day and paid campaign
    _truth/people.csv, _truth/companies.csv, _truth/malformed.csv, _truth/summary.json

The ground truth says which source records are the same person / company; the pipeline never
reads it, it is only for measuring match accuracy. What mess is planted, and at which rate, is
documented in orchestration/demo/README.md and counted in _truth/summary.json.

Deterministic: the same arguments give byte-identical files (seeded numpy/random streams per
chunk of people, no clock, no hash-order dependence). Streaming: people are simulated in chunks
of CHUNK_PEOPLE and written as they go; only per-company arrays live for the whole run.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import random
import shutil
import sys
import time
import unicodedata
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from orchestration.demo import vocab as V

DEFAULT_END_DATE = date(2026, 11, 1)
CHUNK_PEOPLE = 20_000        # fixed: part of the seed -> output contract, do not derive from the machine
MALFORMED_RATE = 0.001       # per file (and per chunk): floor(rows * rate) rows are made invalid
DAY_MS = 86_400_000
LIST_ID = "b7e4c2a91f"
NO_DATE = -(10 ** 9)

CONTACT_COLUMNS = ["hs_object_id", "firstname", "lastname", "email", "phone", "mobilephone", "company",
                   "jobtitle", "address", "city", "state", "zip", "country", "date_of_birth",
                   "lifecyclestage", "hs_lead_status", "hs_email_optout", "associatedcompanyid",
                   "createdate", "lastmodifieddate"]
COMPANY_COLUMNS = ["hs_object_id", "name", "domain", "industry", "numberofemployees", "annualrevenue",
                   "city", "state", "country", "createdate", "lastmodifieddate"]
DEAL_COLUMNS = ["hs_object_id", "dealname", "pipeline", "dealstage", "amount", "closedate", "createdate",
                "lastmodifieddate", "associated_contact_id", "associated_company_id", "contract_term_months"]
# Contract term of a deal in months (custom HubSpot deal property) and how often each occurs,
# in percent; "" (not filled in) and free text the warehouse cannot read mean the default
# term (dbt var contract_term_months).
DEAL_CONTRACT_TERMS = (("1", 8), ("12", 55), ("24", 20), ("36", 12), ("", 4), ("two years", 1))
MEMBER_COLUMNS = ["member_id", "list_id", "email_address", "status", "first_name", "last_name", "phone",
                  "timestamp_opt", "last_changed"]
CAMPAIGN_COLUMNS = ["campaign_id", "list_id", "name", "subject_line", "send_time", "utm_campaign"]
EMAIL_EVENT_COLUMNS = ["event_id", "campaign_id", "member_id", "email_address", "event_type", "timestamp",
                       "url"]
AD_SPEND_COLUMNS = ["date", "platform", "campaign_id", "campaign_name", "utm_source", "utm_medium",
                    "utm_campaign", "impressions", "clicks", "spend"]

FILES = {
    "crm_contacts": "crm/contacts/contacts.csv",
    "crm_companies": "crm/companies/companies.csv",
    "crm_deals": "crm/deals/deals.csv",
    "email_members": "marketing/email_members/members.csv",
    "email_campaigns": "marketing/email_campaigns/campaigns.csv",
    "email_events": "marketing/email_events/email_events.csv",
    "ad_spend": "marketing/ad_spend/ad_spend.csv",
}

# ------------------------------------------------------------------------------------------
# small helpers


_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ı": "i", "ş": "s", "ç": "c",
                       "é": "e", "è": "e", "ê": "e", "ë": "e", "à": "a", "â": "a", "î": "i",
                       "ï": "i", "ô": "o", "û": "u", "ù": "u", "œ": "oe", "ñ": "n"})


def slug(text: str) -> str:
    """ASCII letters only, as people put their name into an email address."""
    s = text.lower().translate(_FOLD)
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    return "".join(ch for ch in s if ch.isalnum())


def _dedupe_by_slug(names: tuple[str, ...]) -> tuple[str, ...]:
    seen, out = set(), []
    for n in names:
        if slug(n) not in seen:
            seen.add(slug(n))
            out.append(n)
    return tuple(out)


FIRST = tuple(_dedupe_by_slug(x) for x in V.FIRST_NAMES)
LAST = tuple(_dedupe_by_slug(x) for x in V.LAST_NAMES)
FIRST_SLUG = tuple(tuple(slug(n) for n in x) for x in FIRST)
LAST_SLUG = tuple(tuple(slug(n) for n in x) for x in LAST)


def _deal_contract_terms(deal_ids: np.ndarray, salt: int) -> list[str]:
    """Contract term of each deal from a hash of its id: deterministic per seed, and drawing
    nothing from the random streams, so adding it left every other generated value as it was."""
    percent = _mix64(np.asarray(deal_ids, dtype=np.uint64) ^ np.uint64(salt ^ 0x7E12)) % np.uint64(100)
    bounds = np.cumsum([w for _, w in DEAL_CONTRACT_TERMS])
    terms = [t for t, _ in DEAL_CONTRACT_TERMS]
    return [terms[i] for i in np.searchsorted(bounds, percent.astype(np.int64), side="right").tolist()]


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijection on uint64, so distinct inputs give distinct ids."""
    x = np.asarray(x).astype(np.uint64)
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return x


def _hex16(x: np.ndarray) -> list[str]:
    return [f"{v:016x}" for v in x.tolist()]


def _uuid4(unique: np.ndarray, noise: np.ndarray) -> list[str]:
    """UUIDv4-shaped strings that keep all 64 bits of `unique` (so they stay unique)."""
    u = unique.astype(np.uint64)
    w = noise.astype(np.uint64)
    g1 = (u >> np.uint64(32)).tolist()
    g2 = ((u >> np.uint64(16)) & np.uint64(0xFFFF)).tolist()
    g3 = (np.uint64(0x4000) | ((u >> np.uint64(4)) & np.uint64(0xFFF))).tolist()
    g4 = (np.uint64(0x8000) | ((u & np.uint64(0xF)) << np.uint64(10)) | (w & np.uint64(0x3FF))).tolist()
    g5 = ((w >> np.uint64(10)) & np.uint64(0xFFFFFFFFFFFF)).tolist()
    return [f"{a:08x}-{b:04x}-{c:04x}-{d:04x}-{e:012x}" for a, b, c, d, e in zip(g1, g2, g3, g4, g5)]


_HMS = np.array([f"T{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)],
                dtype=object)
_MS_Z = np.array([f".{i:03d}Z" for i in range(1000)], dtype=object)


def _dates_table(d0: int, d1: int) -> np.ndarray:
    base = date(1970, 1, 1)
    return np.array([(base + timedelta(days=d)).isoformat() for d in range(d0, d1 + 1)], dtype=object)


def fmt_ts(ms, style: str = "ms") -> np.ndarray:
    """Format epoch milliseconds, vectorised; negative values become ''.

    style 'ms'  -> 2026-10-03T12:34:56.789Z   (HubSpot, Segment)
    style 's+'  -> 2026-10-03T12:34:56+00:00  (Mailchimp)
    style 'date'-> 2026-10-03
    """
    ms = np.asarray(ms, dtype=np.int64)
    out = np.full(ms.shape, "", dtype=object)
    ok = ms >= 0
    if not ok.any():
        return out
    v = ms[ok]
    day = v // DAY_MS
    d0 = int(day.min())
    dates = _dates_table(d0, int(day.max()))[day - d0]
    tod = v - day * DAY_MS
    if style == "ms":
        out[ok] = dates + _HMS[tod // 1000] + _MS_Z[tod % 1000]
    elif style == "s+":
        out[ok] = dates + _HMS[tod // 1000] + "+00:00"
    else:
        out[ok] = dates
    return out


def fmt_days(days) -> list:
    """Days since 1970-01-01 (may be negative) -> 'YYYY-MM-DD'; NO_DATE -> ''."""
    days = np.asarray(days, dtype=np.int64)
    ok = days != NO_DATE
    out = np.full(days.shape, "", dtype=object)
    if ok.any():
        d0 = int(days[ok].min())
        out[ok] = _dates_table(d0, int(days[ok].max()))[days[ok] - d0]
    return out.tolist()


def _choice_cdf(weights) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return np.cumsum(w) / w.sum()


def _pick(rng: np.random.Generator, cdf: np.ndarray, n: int) -> np.ndarray:
    return np.searchsorted(cdf, rng.random(n), side="right").clip(0, len(cdf) - 1)


def _wpick(r: random.Random, items):
    """Weighted pick from ((value, weight), ...) with one uniform draw."""
    u = r.random() * sum(w for _, w in items)
    for v, w in items:
        u -= w
        if u < 0:
            return v
    return items[-1][0]


# ---- phones ------------------------------------------------------------------------------
_PHONE_MULT = 1_000_000_007  # prime: coprime with every number space below


def _space_size(space) -> int:
    prefixes, sub = space
    return len(prefixes) * 10 ** sub


def _nsn(space, index: int, offset: int) -> str:
    """The index-th number of a space, through a bijection (distinct index -> distinct number)."""
    prefixes, sub = space
    num = (index * _PHONE_MULT + offset) % _space_size(space)
    return prefixes[num // 10 ** sub] + str(num % 10 ** sub).zfill(sub)


def format_phone(country: int, nsn: str, u: float, national: bool) -> str:
    """One of the ways people type this number. national=False: always with a country code."""
    if country == 0:
        a, b, c = nsn[:3], nsn[3:6], nsn[6:]
        intl = (f"+1{nsn}", f"+1 {a}-{b}-{c}", f"+1 ({a}) {b}-{c}", f"+1 {a} {b} {c}", f"+1.{a}.{b}.{c}",
                f"001 {a} {b} {c}")
        nat = (f"({a}) {b}-{c}", f"({a}) {b} {c}", f"{a}.{b}.{c}", f"{a}-{b}-{c}", f"1-{a}-{b}-{c}", nsn)
    elif country == 1:
        g = f"{nsn[:4]} {nsn[4:]}" if nsn[0] == "7" else f"{nsn[:2]} {nsn[2:6]} {nsn[6:]}"
        intl = (f"+44{nsn}", f"+44 {g}", f"0044 {g}", f"+44 (0){g}" if nsn[0] != "7" else f"+44 {g}")
        nat = (f"0{g}", f"0{nsn}", f"0{g}")
    elif country == 2:
        k = 3 if nsn[0] == "1" else 2
        p, s = nsn[:k], nsn[k:]
        intl = (f"+49{nsn}", f"+49 {p} {s}", f"0049 {p} {s}", f"+49 (0){p} {s}", f"+49-{p}-{s}")
        nat = (f"0{p} {s}", f"0{p}/{s}", f"0{p}-{s}", f"(0{p}) {s}")
    else:
        d, pairs = nsn[0], " ".join(nsn[i:i + 2] for i in range(1, 9, 2))
        intl = (f"+33{nsn}", f"+33 {d} {pairs}", f"0033 {d} {pairs}", f"+33 (0){d} {pairs}")
        nat = (f"0{d} {pairs}", f"0{d}.{pairs.replace(' ', '.')}", f"0{nsn}")
    opts = intl + nat if national else intl
    return opts[int(u * len(opts)) % len(opts)]


# ---- email variants ----------------------------------------------------------------------
def _is_gmail(email: str) -> bool:
    return email.endswith("@gmail.com") or email.endswith("@googlemail.com")


def _case_variant(email: str, u: float) -> str:
    if u < 0.5:
        local, dom = email.split("@")
        return ".".join(p[:1].upper() + p[1:] for p in local.split(".")) + "@" + dom[:1].upper() + dom[1:]
    return email.upper() if u < 0.7 else email[:1].upper() + email[1:]


def _gmail_variant(email: str, u: float, tag_u: float) -> str:
    """Same gmail mailbox, different string: dots moved, +tag, googlemail.com."""
    local, dom = email.split("@")
    bare = local.replace(".", "")
    if u < 0.35:
        tag = ("crm", "news", "work", "2026", "shop", "lists")[int(tag_u * 6)]
        return f"{local}+{tag}@{dom}"
    if u < 0.65:
        if "." in local:
            return f"{bare}@{dom}"
        cut = 1 + int(tag_u * (len(bare) - 1)) if len(bare) > 1 else 1
        return f"{bare[:cut]}.{bare[cut:]}@{dom}".replace(".@", "@")
    other = "googlemail.com" if dom == "gmail.com" else "gmail.com"
    return f"{local}@{other}"


def _typo(name: str, u: float, v: float) -> str:
    if len(name) < 3:
        return name
    i = 1 + int(v * (len(name) - 2))
    if u < 0.3:  # swap two letters
        return name[:i - 1] + name[i] + name[i - 1] + name[i + 1:]
    if u < 0.55:  # drop one
        return name[:i] + name[i + 1:]
    if u < 0.8:  # double one
        return name[:i] + name[i] + name[i:]
    return name.lower() if u < 0.9 else name.upper()


# ------------------------------------------------------------------------------------------
class _Csv:
    def __init__(self, path: Path, header: list[str]):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.f = open(path, "w", newline="", encoding="utf-8")
        self.w = csv.writer(self.f, lineterminator="\n")
        self.w.writerow(header)
        self.rows = 0

    def write_columns(self, cols: list) -> None:
        n = len(cols[0]) if cols else 0
        if n:
            self.w.writerows(zip(*cols))
            self.rows += n

    def close(self) -> None:
        self.f.close()


class _WebEvents:
    """The web events of one chunk while `_Generator._web` builds them step by step: one entry per
    event (dev_of, pos, typ, rel, t, page_of, head, body, ...) or per session (s_first, s_start,
    s_ad, s_mail); each step reads what the steps before it set."""

    def __init__(self, kinds: np.ndarray):
        self.kinds = kinds  # per device: 0 anonymous only, > 0 identifies (has a conversion flow)


class _Generator:
    def __init__(self, landing: Path, people: int, seed: int, end_date: date, days: int, hard: bool = False):
        if people < 1 or days < 1:
            raise ValueError("people and days must be >= 1")
        self.landing = Path(landing)
        self.people = int(people)
        self.seed = int(seed)
        self.end_date = end_date
        self.days = int(days)
        self.start_date = end_date - timedelta(days=days - 1)
        epoch = date(1970, 1, 1)
        self.ws = (self.start_date - epoch).days * DAY_MS        # window start (ms)
        self.we = (end_date - epoch).days * DAY_MS + DAY_MS        # window end, exclusive
        self.salt = int(_mix64(np.array([self.seed & 0xFFFFFFFFFFFFFFFF]))[0])
        self.malformed: list[tuple[str, int, str]] = []
        self.stats: dict[str, int] = {}
        self.pairs = 0
        self.email_counter = np.zeros(1 << 22, dtype=np.int32)
        self.counters = {"contact": 0, "deal": 0, "event": 0, "message": 0, "device": 0}
        self.hard = bool(hard)

    # deterministic, independent random streams
    def rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed & 0xFFFFFFFF, self.seed >> 32, *key]))

    def bump(self, key: str, n: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + n

    def plant_malformed(self, rng, cols: dict, n: int, rel: str, first_line: int, kinds) -> None:
        """Make floor(n*rate) rows of this block invalid for the contract; remember where."""
        k = int(n * MALFORMED_RATE)
        if k == 0:
            return
        rows = np.sort(rng.choice(n, size=k, replace=False))
        for row in rows.tolist():
            column, kind, values = kinds[int(rng.integers(len(kinds)))]
            cols[column][row] = values[int(rng.integers(len(values)))]
            self.malformed.append((rel, first_line + row, kind))

    # --------------------------------------------------------------------------------------
    def run(self) -> dict:
        tmp = self.landing / ".generator-tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        self.out = tmp
        self.truth_people = _Csv(tmp / "_truth/people.csv", ["source", "source_record_id", "person_id"])
        self.companies()
        self.email_campaigns()
        self.open_outputs()
        n_chunks = math.ceil(self.people / CHUNK_PEOPLE)
        for ci in range(n_chunks):
            g0 = ci * CHUNK_PEOPLE
            self.people_chunk(ci, g0, min(CHUNK_PEOPLE, self.people - g0))
        self.ad_spend()
        summary = self.close_outputs()
        # publish: move every file into place only when all are complete
        for src in sorted(p for p in tmp.rglob("*") if p.is_file()):
            dst = self.landing / src.relative_to(tmp)
            dst.parent.mkdir(parents=True, exist_ok=True)
            src.replace(dst)
        shutil.rmtree(tmp)
        return summary

    # ---- companies -----------------------------------------------------------------------
    def companies(self) -> None:
        rng = self.rng(1)
        n = self.nc = max(1, round(self.people * 0.196))
        nA, nB, nC = len(V.COMPANY_A), len(V.COMPANY_B), len(V.COMPANY_C)
        space = nA * nB * nC
        k = np.arange(n, dtype=np.int64)
        combo = (k * 7_919 + int(rng.integers(space))) % space     # 7919 is coprime with space
        layer = k // space
        ai, bi, ci = combo // (nB * nC), (combo // nC) % nB, combo % nC
        country = _pick(rng, _choice_cdf(V.COUNTRY_WEIGHTS), n)
        legal = rng.integers(0, 4, n)
        tld_u = rng.random(n)
        self.c_country = country
        self.c_city = (rng.random(n) * np.array([len(V.CITIES[c]) for c in range(4)])[country]).astype(np.int64)
        self.c_weight = rng.lognormal(0.0, 1.25, n)
        self.c_cdf = np.cumsum(self.c_weight) / self.c_weight.sum()
        self.c_count = np.zeros(n, dtype=np.int64)
        self.c_hash = rng.integers(0, 1 << 30, n)
        self.c_pattern = _pick(rng, _choice_cdf((0.75, 0.12, 0.13)), n)
        big = self.c_weight > np.quantile(self.c_weight, 0.7)
        u = rng.random(n)
        self.c_role = np.where(big & (u < 0.03), rng.integers(0, len(V.ROLE_MAILBOXES), n), -1)
        self.c_switch = big & (u >= 0.03) & (u < 0.07)
        self.c_switch_offset = int(rng.integers(1 << 40))
        self.c_role_l, self.c_switch_l = self.c_role.tolist(), self.c_switch.tolist()
        self.c_pattern_l, self.c_city_l = self.c_pattern.tolist(), self.c_city.tolist()
        names, cores, domains, seen = [], [], [], set()
        ai_l, bi_l, ci_l, layer_l = ai.tolist(), bi.tolist(), ci.tolist(), layer.tolist()
        for i in range(n):
            c = int(country[i])
            a, b, cc = V.COMPANY_A[ai_l[i]], V.COMPANY_B[bi_l[i]], V.COMPANY_C[ci_l[i]]
            core = f"{a} {b}" + (f" {cc}" if cc else "") + (f" {layer_l[i] + 1}" if layer_l[i] else "")
            suffix = V.LEGAL_SUFFIXES[c][int(legal[i])]
            names.append(core + (f" {suffix}" if suffix else ""))
            cores.append(core)
            tld = _wpick_u(V.COMPANY_TLDS[c], tld_u[i])
            base = slug(a) + slug(b) + slug(cc) + (str(layer_l[i] + 1) if layer_l[i] else "")
            dom, extra = f"{base}.{tld}", 2
            while dom in seen:
                dom, extra = f"{base}{extra}.{tld}", extra + 1
            seen.add(dom)
            domains.append(dom)
        del seen
        self.c_name = names
        self.c_core = cores
        self.c_domain = domains

        # CRM records: one per company, plus ~2% duplicate records of the same company
        dup = rng.random(n) < 0.02
        n_dup = int(dup.sum())
        total = n + n_dup
        ids = 5_000_001 + np.cumsum(rng.integers(1, 4, total))
        self.c_crm_id = ids[:n]
        self.c_dup_id = np.full(n, -1, dtype=np.int64)
        self.c_dup_id[dup] = ids[n:]
        owner = np.concatenate([k, np.flatnonzero(dup)])
        is_dup = np.concatenate([np.zeros(n, bool), np.ones(n_dup, bool)])
        created = self.we - (rng.uniform(20, 1500, total) * DAY_MS).astype(np.int64)
        created[n:] = np.maximum(created[owner[n:]], created[n:])
        modified = created + (rng.random(total) * (self.we - created)).astype(np.int64)
        emp = np.maximum(1, np.round(self.c_weight[owner] * rng.uniform(8, 40, total))).astype(np.int64)
        revenue = np.round(emp * rng.uniform(60_000, 260_000, total), -3).astype(np.int64)
        ind = rng.integers(0, len(V.INDUSTRIES), total)
        u = rng.random((total, 8))
        cols = {c: [] for c in COMPANY_COLUMNS}
        created_s, modified_s = fmt_ts(created), fmt_ts(modified)
        for r in range(total):
            i = int(owner[r])
            c = int(country[i])
            name, dom = names[i], domains[i]
            if is_dup[r]:   # how the second record of the same company was typed
                name = (self.c_core[i], self.c_core[i].upper(), name, "The " + self.c_core[i])[int(u[r, 0] * 4)]
                dom = (f"www.{dom}", dom.upper(), "", f"https://{dom}/", dom)[int(u[r, 1] * 5)]
                self.bump("crm_company_duplicate_records")
            else:
                if u[r, 1] < 0.05:
                    dom = f"www.{dom}"
                elif u[r, 1] < 0.08:
                    dom = dom[:1].upper() + dom[1:]
                elif u[r, 1] < 0.11:
                    dom = ""
            city, state, _ = V.CITIES[c][int(self.c_city[i])]
            cols["hs_object_id"].append(int(ids[r]))
            cols["name"].append(name)
            cols["domain"].append(dom)
            cols["industry"].append(V.INDUSTRIES[int(ind[r])] if u[r, 2] > 0.1 else "")
            cols["numberofemployees"].append(int(emp[r]) if u[r, 3] > 0.08 else "")
            cols["annualrevenue"].append(int(revenue[r]) if u[r, 4] > 0.25 else "")
            cols["city"].append(city if u[r, 5] > 0.05 else "")
            cols["state"].append(state)
            cols["country"].append(_wpick_u(V.COUNTRY_LABELS[c], u[r, 6]) if u[r, 7] > 0.05 else "")
            cols["createdate"].append(created_s[r])
            cols["lastmodifieddate"].append(modified_s[r])
        rel = FILES["crm_companies"]
        self.plant_malformed(rng, cols, total, rel, 2, (
            ("numberofemployees", "bad_integer", ("50-200", "1k+", "approx. 300")),
            ("annualrevenue", "bad_number", ("$1.2M", "12,5 Mio. EUR", "n/a")),
            ("createdate", "bad_timestamp", ("2025-02-30T10:00:00.000Z", "yesterday")),
        ))
        out = _Csv(self.out / rel, COMPANY_COLUMNS)
        out.write_columns([cols[c] for c in COMPANY_COLUMNS])
        out.close()
        self.bump("crm_companies", total)
        truth = _Csv(self.out / "_truth/companies.csv", ["source", "source_record_id", "company_id"])
        truth.write_columns([["crm_companies"] * total, ids.tolist(), [f"C{int(i):07d}" for i in owner]])
        truth.close()
        self.stats["companies"] = n

    # ---- email campaigns ------------------------------------------------------------------
    def email_campaigns(self) -> None:
        rng = self.rng(2)
        rows, sends = [], []
        for d in range(self.days):
            day = self.start_date + timedelta(days=d)
            for weekday, hour, prefix, subjects in V.EMAIL_CAMPAIGN_KINDS:
                if day.weekday() == weekday:
                    t = self.ws + d * DAY_MS + hour * 3_600_000 + int(rng.integers(0, 1800)) * 1000
                    utm = f"{slug(prefix.split()[0])}_{day.strftime('%Y_%m_%d')}"
                    rows.append([f"{prefix} - {day.isoformat()}", subjects[len(rows) % len(subjects)], t, utm])
                    sends.append(t)
        ids = _hex16(_mix64(np.arange(len(rows), dtype=np.uint64) ^ np.uint64(self.salt ^ 0xC4A7)))
        self.campaign_ids = [i[:10] for i in ids]
        self.campaign_send = np.array(sends, dtype=np.int64)
        self.campaign_utm = [r[3] for r in rows]
        out = _Csv(self.out / FILES["email_campaigns"], CAMPAIGN_COLUMNS)
        send_s = fmt_ts(self.campaign_send, "s+") if rows else []
        out.write_columns([self.campaign_ids, [LIST_ID] * len(rows), [r[0] for r in rows],
                           [r[1] for r in rows], list(send_s), self.campaign_utm])
        out.close()
        self.stats["email_campaigns"] = len(rows)

    # ---- outputs -------------------------------------------------------------------------
    def open_outputs(self) -> None:
        o = self.out
        self.f_contacts = _Csv(o / FILES["crm_contacts"], CONTACT_COLUMNS)
        self.f_deals = _Csv(o / FILES["crm_deals"], DEAL_COLUMNS)
        self.f_members = _Csv(o / FILES["email_members"], MEMBER_COLUMNS)
        self.f_email_events = _Csv(o / FILES["email_events"], EMAIL_EVENT_COLUMNS)
        (o / "web/events").mkdir(parents=True, exist_ok=True)
        self.web_names = [f"web/events/{(self.start_date + timedelta(days=d)).isoformat()}.jsonl"
                          for d in range(self.days)]
        self.web_files = [open(o / n, "w", encoding="utf-8", newline="\n") for n in self.web_names]
        self.web_lines = [0] * self.days
        self.ad_landings = np.zeros((self.days, len(V.AD_CAMPAIGNS)), dtype=np.int64)
        self.contact_id_next = 100_001
        self.deal_id_next = 9_000_001

    def close_outputs(self) -> dict:
        for f in (self.f_contacts, self.f_deals, self.f_members, self.f_email_events, self.truth_people):
            f.close()
        for f in self.web_files:
            f.close()
        mal = _Csv(self.out / "_truth/malformed.csv", ["file", "line", "kind"])
        rows = sorted(self.malformed)
        mal.write_columns([[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]] if rows else [])
        mal.close()
        s = self.stats
        summary = {
            "people": self.people,
            "seed": self.seed,
            "start_date": self.start_date.isoformat(),
            "end_date": self.end_date.isoformat(),
            "days": self.days,
            "companies": s.get("companies", 0),
            "crm_contacts": self.f_contacts.rows,
            "crm_companies": s.get("crm_companies", 0),
            "crm_deals": self.f_deals.rows,
            "web_events": sum(self.web_lines),
            "email_members": self.f_members.rows,
            "email_campaigns": s.get("email_campaigns", 0),
            "email_events": self.f_email_events.rows,
            "ad_spend": s.get("ad_spend", 0),
            "web_visitors": s.get("web_visitors", 0),
            "truth_people_rows": self.truth_people.rows,
            "true_pairs": self.pairs,
            "malformed_rows": len(self.malformed),
            "malformed_by_file": {f: sum(1 for r in rows if r[0] == f) for f in sorted({r[0] for r in rows})},
            "files": {
                FILES["crm_contacts"]: self.f_contacts.rows,
                FILES["crm_companies"]: s.get("crm_companies", 0),
                FILES["crm_deals"]: self.f_deals.rows,
                FILES["email_members"]: self.f_members.rows,
                FILES["email_campaigns"]: s.get("email_campaigns", 0),
                FILES["email_events"]: self.f_email_events.rows,
                FILES["ad_spend"]: s.get("ad_spend", 0),
                **{n: c for n, c in zip(self.web_names, self.web_lines)},
            },
            "planted": {k: v for k, v in sorted(s.items()) if k not in {
                "companies", "crm_companies", "email_campaigns", "ad_spend", "web_visitors",
                "malformed_rows"}},
        }
        (self.out / "_truth/summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
        return summary

    # ---- people --------------------------------------------------------------------------
    def people_chunk(self, ci: int, g0: int, n: int) -> None:
        """People g0 .. g0+n-1: who they are, then their records in each system, in one random
        stream per chunk (the order of draws is part of the seed -> output contract)."""
        rng = self.rng(10, ci)
        r = random.Random(int(rng.integers(1 << 62)))
        people = self._chunk_people(rng, n)
        out = _ChunkRecords(C={c: [] for c in CONTACT_COLUMNS}, D={c: [] for c in DEAL_COLUMNS},
                            M={c: [] for c in MEMBER_COLUMNS})
        pairs = 0
        for j in range(n):
            records = self._person_records(r, out, g0 + j, *(column[j] for column in people))
            pairs += records * (records - 1) // 2
        self.pairs += pairs
        if self.hard:
            _harden_contacts(self, ci, out.C, out.c_person, out.m_person, out.dev_person)

        self._write_contacts_deals(rng, out.C, out.c_created, out.c_modified, out.c_dob, out.c_person, out.D,
                                   out.d_created, out.d_modified, out.d_close, out.d_contact_row)
        self._web(ci, out.dev_person, out.dev_kind, out.dev_form, out.dev_userid, out.dev_traits, out.dev_country)
        self._members_and_email_events(ci, out.M, out.m_opt, out.m_changed, out.m_person, out.m_base)

    def _chunk_people(self, rng: np.random.Generator, n: int) -> tuple[list, ...]:
        """Per person of the chunk: country, company (-1: none), ordinal among the company's staff,
        name-grid cycle, first/last name index, category, has a phone - as lists."""
        employed = rng.random(n) < 0.85
        comp = np.where(employed, np.searchsorted(self.c_cdf, rng.random(n), side="right").clip(0, self.nc - 1), -1)
        ordinal = np.zeros(n, dtype=np.int64)
        e_idx = np.flatnonzero(employed)
        if len(e_idx):
            cs = comp[e_idx]
            order = np.argsort(cs, kind="stable")
            sc = cs[order]
            starts = np.r_[0, np.flatnonzero(np.diff(sc)) + 1]
            group_start = np.repeat(starts, np.diff(np.r_[starts, len(sc)]))
            ordinal[e_idx[order]] = self.c_count[sc] + np.arange(len(sc)) - group_start
            self.c_count += np.bincount(cs, minlength=self.nc)
        country = np.where(employed, self.c_country[np.maximum(comp, 0)], _pick(rng, _choice_cdf(V.COUNTRY_WEIGHTS), n))
        nF = np.array([len(x) for x in FIRST])[country]
        nL = np.array([len(x) for x in LAST])[country]
        # colleagues never share first+last name: walk the name grid with a stride coprime to its size
        stride = np.array([_coprime_stride(len(FIRST[c]) * len(LAST[c])) for c in range(4)])[country]
        pair = (self.c_hash[np.maximum(comp, 0)] + ordinal * stride) % (nF * nL)
        cycle = ordinal // (nF * nL)
        fi = np.where(employed, pair // nL, (rng.random(n) * nF).astype(np.int64))
        li = np.where(employed, pair % nL, (rng.random(n) * nL).astype(np.int64))
        cat_u = rng.random(n)   # 0: in the CRM, 1: known elsewhere only, 2: anonymous web visitor only
        cat = np.where(cat_u < 0.90, 0, np.where(cat_u < 0.94, 1, 2))
        has_phone = rng.random(n) < 0.78
        return tuple(a.tolist() for a in (country, comp, ordinal, cycle, fi, li, cat, has_phone))

    def _personal_email(self, r: random.Random, c: int, fs: str, ls: str, avoid: str = "") -> str:
        for _ in range(4):
            domain = _wpick(r, V.FREE_MAIL[c])
            if domain != avoid:
                break
        u = r.random()
        letters = (f"{fs}.{ls}" if u < 0.45 else f"{fs}{ls}" if u < 0.65 else
                   f"{fs[:1]}{ls}" if u < 0.85 else f"{ls}.{fs}")
        norm_dom = "gmail.com" if domain == "googlemail.com" else domain
        # distinct (letters without dots, domain) -> distinct counter value -> unique address,
        # also after gmail normalisation. Hash collisions only make the numbers bigger.
        slot = zlib.crc32(f"{letters.replace('.', '')}@{norm_dom}".encode()) & 0x3FFFFF
        k = int(self.email_counter[slot])
        self.email_counter[slot] = k + 1
        return f"{letters}{k if k else ''}@{domain}"

    def _person_records(self, r: random.Random, out: _ChunkRecords, gi: int, c: int, k_comp: int, ordinal: int,
                        cycle: int, fi: int, li: int, cat: int, has_phone: bool) -> int:
        """One person's records in every system they are in; returns how many."""
        if cat == 2:   # an anonymous visitor who never identifies: one cookie, nothing else
            out.dev_person.append(gi); out.dev_kind.append(0); out.dev_form.append(""); out.dev_userid.append("")
            out.dev_traits.append(""); out.dev_country.append(c)
            self.bump("web_anonymous_only_people")
            return 0
        fs, ls = FIRST_SLUG[c][fi], LAST_SLUG[c][li]
        work = ""
        if k_comp >= 0:
            pat = self.c_pattern_l[k_comp]
            local = f"{fs}.{ls}" if pat == 0 else f"{fs}_{ls}" if pat == 1 else f"{ls}.{fs}"
            if cycle:
                local += str(cycle + 1)
            work = f"{local}@{self.c_domain[k_comp]}"
        if work and r.random() < 0.85:
            e0, e1 = work, None
        else:
            e0, e1 = self._personal_email(r, c, fs, ls), (work or None)
        nsn = _nsn(V.PHONE_PERSONAL[c], gi, self.salt % 1_000_003) if has_phone else ""
        p = _Person(gi=gi, pid=f"P{gi:08d}", c=c, fn=FIRST[c][fi], ln=LAST[c][li], fs=fs, ls=ls, k_comp=k_comp,
                    nsn=nsn, e0=e0, e1=e1,
                    is_role=cat == 0 and k_comp >= 0 and self.c_role_l[k_comp] >= 0 and ordinal < 4)
        p.is_switch = cat == 0 and k_comp >= 0 and self.c_switch_l[k_comp] and ordinal < 5 and not p.is_role

        # ---- decide presence in each system first (the CRM shape depends on it)
        if cat == 0:
            u = r.random()
            n_contacts = 1 if (p.is_role or u < 0.63) else 2 if u < 0.92 else 3
            member = (not p.is_role) and r.random() < 0.60
            web = (not p.is_role) and r.random() < 0.38
        else:
            n_contacts = 0
            member = r.random() < 0.70
            web = (not member) or r.random() < 0.40
        records = 0
        if n_contacts:
            records += self._crm_records(r, out, p, n_contacts, member, web)
        if member:
            records += self._member_records(r, out, p)
        if web:
            records += self._web_records(r, out, p)
        return records

    def _crm_records(self, r: random.Random, out: _ChunkRecords, p: _Person, n_contacts: int, member: bool,
                     web: bool) -> int:
        """The person's CRM contacts (the first, and duplicates of a kind each) and deals."""
        dup_types = []
        for _ in range(n_contacts - 1):
            u = r.random()
            t = ("case_ws" if u < 0.33 else "gmail" if u < 0.45 else "alt" if u < 0.88
                 else "same" if u < 0.965 else "hard")
            if t == "gmail" and not _is_gmail(p.e0):
                t = "case_ws"
            if t == "alt" and not p.nsn:
                t = "case_ws"
            if t == "hard" and ("hard" in dup_types or p.is_switch):
                t = "same"
            dup_types.append(t)
        if ("alt" in dup_types or "hard" in dup_types) and p.e1 is None:
            p.e1 = self._personal_email(r, p.c, p.fs, p.ls, avoid=p.e0.split("@")[1])
        p.e1_linked = "alt" in dup_types   # e1 appears together with a shared phone, so it is resolvable

        deals = self._deal_stages(r, p)
        stage = _lifecycle_stage(r, deals)
        lead_status = ("" if stage == "customer" and r.random() < 0.8 else
                       "OPEN_DEAL" if stage == "opportunity" and r.random() < 0.6 else
                       _wpick(r, (("NEW", 20), ("OPEN", 15), ("IN_PROGRESS", 12), ("ATTEMPTED_TO_CONTACT", 10),
                                  ("CONNECTED", 8), ("UNQUALIFIED", 6), ("BAD_TIMING", 4), ("", 25))))
        first_row = len(out.c_person)
        self._contact_rows(r, out, p, n_contacts, dup_types, stage, lead_status, member, web)
        self._deal_rows(r, out, p, deals, n_contacts, first_row, stage)
        return n_contacts

    def _deal_stages(self, r: random.Random, p: _Person) -> list[str]:
        deals = []
        if p.k_comp >= 0 and not p.is_role:
            u = r.random()
            nd = 1 if u < 0.29 else 2 if u < 0.34 else 0
            for _ in range(nd):
                u = r.random()
                deals.append("closedwon" if u < 0.25 else "closedlost" if u < 0.55
                             else V.OPEN_STAGES[int(r.random() * 5)])
        return deals

    def _contact_rows(self, r: random.Random, out: _ChunkRecords, p: _Person, n_contacts: int,
                      dup_types: list[str], stage: str, lead_status: str, member: bool, web: bool) -> None:
        c, k_comp, C, bump, we = p.c, p.k_comp, out.C, self.bump, self.we
        # shared person-level attributes
        if k_comp >= 0 and r.random() < 0.65:
            city, state, zkey = V.CITIES[c][self.c_city_l[k_comp]]
        else:
            city, state, zkey = V.CITIES[c][int(r.random() * len(V.CITIES[c]))]
        street = V.STREETS[c][int(r.random() * len(V.STREETS[c]))]
        num = 1 + int(r.random() * 250)
        address = (f"{num} {street}" if c in (0, 1) else f"{street} {num}" if c == 2 else f"{num}, {street}")
        zipc = _postcode(c, zkey, r)
        country_label = _wpick(r, V.COUNTRY_LABELS[c]) if r.random() > 0.07 else ""
        title = V.JOB_TITLES[int(r.random() * len(V.JOB_TITLES))] if r.random() > 0.15 else ""
        dob = (-7_300 + int(r.random() * 17_500)) if r.random() < 0.3 else NO_DATE  # born 1950-1997
        company_text = ""
        assoc = ""
        if k_comp >= 0:
            u = r.random()
            company_text = (self.c_name[k_comp] if u < 0.6 else self.c_core[k_comp] if u < 0.85
                            else self.c_core[k_comp].lower() if u < 0.9 else "")
            u = r.random()
            dup_id = int(self.c_dup_id[k_comp])
            assoc = (dup_id if (dup_id > 0 and u < 0.15) else "" if u > 0.93 else int(self.c_crm_id[k_comp]))
        elif r.random() < 0.05:
            company_text = ("Freelance", "Self-employed", "n/a")[int(r.random() * 3)]
        optout_base = "true" if r.random() < 0.02 else ("false" if r.random() < 0.85 else "")
        p.created0 = we - int((20 + r.random() * 1100) * DAY_MS)
        sw = _nsn(V.PHONE_SWITCHBOARD[c], k_comp, self.c_switch_offset) if p.is_switch else ""
        need_phone = p.e1_linked   # the alt duplicate must share the phone with contact #1

        for ki in range(n_contacts):
            t = "primary" if ki == 0 else dup_types[ki - 1]
            first, last, email = p.fn, p.ln, p.e0
            phone = mobile = ""
            if t == "primary":
                u = r.random()
                if p.is_role:
                    email = f"{V.ROLE_MAILBOXES[self.c_role_l[k_comp]]}@{self.c_domain[k_comp]}"
                    bump("crm_role_mailbox_contacts")
                elif u < 0.03:
                    email = _case_variant(p.e0, r.random()); bump("crm_email_case_variants")
                elif u < 0.04:
                    email = (" " + p.e0) if r.random() < 0.5 else (p.e0 + " "); bump("crm_email_whitespace")
            elif t == "case_ws":
                email = _case_variant(p.e0, r.random()) if r.random() < 0.7 else (p.e0 + " ")
            elif t == "gmail":
                email = _gmail_variant(p.e0, r.random(), r.random())
            elif t in ("alt", "hard"):
                email = p.e1
            if ki > 0:
                bump(f"crm_duplicate_{t}")
                if r.random() < 0.25:
                    if r.random() < 0.5:
                        first = _typo(p.fn, r.random(), r.random())
                    else:
                        last = _typo(p.ln, r.random(), r.random())
                    bump("crm_duplicate_name_typos")
                if r.random() < 0.03:
                    first = ""
            # national formats ("0151 ...") only where the record says which country it is in
            keep_addr = ki == 0 or t == "hard" or r.random() > 0.4
            national_ok = keep_addr and country_label != ""
            if t != "hard" and p.nsn:
                if p.is_switch:
                    if need_phone or r.random() < 0.6:
                        mobile = format_phone(c, p.nsn, r.random(), national_ok)
                elif need_phone and t in ("primary", "alt"):
                    if r.random() < 0.7:
                        phone = format_phone(c, p.nsn, r.random(), national_ok)
                    else:
                        mobile = format_phone(c, p.nsn, r.random(), national_ok)
                else:
                    u = r.random()
                    if u < 0.55:
                        phone = format_phone(c, p.nsn, r.random(), national_ok)
                    elif u < 0.8:
                        mobile = format_phone(c, p.nsn, r.random(), national_ok)
            if p.is_switch and t != "hard":
                phone = format_phone(c, sw, r.random(), national_ok)
                bump("crm_switchboard_contacts")
            if ki == 0 and n_contacts == 1 and not member and not web and r.random() < 0.01:
                email = ""   # a lone record without email: nothing else to resolve against
                bump("crm_contacts_without_email")
            created = p.created0 if ki == 0 else p.created0 + int(r.random() * (we - p.created0))
            C["firstname"].append(first)
            C["lastname"].append(last if (ki == 0 or r.random() > 0.02) else "")
            C["email"].append(email)
            C["phone"].append(phone)
            C["mobilephone"].append(mobile)
            C["company"].append(company_text if ki == 0 or r.random() > 0.2 else "")
            C["jobtitle"].append(title if ki == 0 or r.random() > 0.3 else
                                 V.JOB_TITLES[int(r.random() * len(V.JOB_TITLES))])
            C["address"].append(address if keep_addr and r.random() > 0.2 else "")
            C["city"].append(city if keep_addr else "")
            C["state"].append(state if keep_addr else "")
            C["zip"].append(zipc if keep_addr and r.random() > 0.1 else "")
            C["country"].append(country_label if keep_addr else "")
            out.c_dob.append(dob if (ki == 0 or r.random() < 0.5) else NO_DATE)
            C["lifecyclestage"].append(stage if ki == 0 or stage != "customer" or r.random() < 0.7
                                       else "lead")
            C["hs_lead_status"].append(lead_status if ki == 0 else "")
            C["hs_email_optout"].append(optout_base)
            C["associatedcompanyid"].append(assoc if ki == 0 or r.random() > 0.3 else "")
            out.c_created.append(created)
            out.c_modified.append(created + int(r.random() * (we - created)))
            out.c_person.append(p.pid)

    def _deal_rows(self, r: random.Random, out: _ChunkRecords, p: _Person, deals: list[str], n_contacts: int,
                   first_row: int, stage: str) -> None:
        we, D = self.we, out.D
        for stage_d in deals:
            created = p.created0 + int(r.random() * (we - p.created0))
            won_lost = stage_d in ("closedwon", "closedlost")
            if won_lost:
                close = created + int(r.random() * min(we - created, 200 * DAY_MS))
            else:
                close = we + int((10 + r.random() * 150) * DAY_MS) if r.random() < 0.8 else -1
            amount = round(math.exp(r.gauss(9.6, 1.0)) / 50) * 50
            product = V.DEAL_PRODUCTS[int(r.random() * len(V.DEAL_PRODUCTS))]
            D["dealname"].append(f"{self.c_core[p.k_comp]} - {product}")
            D["pipeline"].append("default")
            D["dealstage"].append(stage_d)
            D["amount"].append(amount if (won_lost or r.random() < 0.85) else "")
            D["associated_company_id"].append(int(self.c_crm_id[p.k_comp]) if r.random() > 0.04 else "")
            out.d_created.append(created)
            out.d_close.append(close)
            last_touch = close if won_lost else created
            out.d_modified.append(last_touch + int(r.random() * (we - last_touch)))
            u = r.random()
            # sometimes the deal hangs on the duplicate contact (when its stage agrees)
            on_dup = u < 0.12 and n_contacts > 1 and out.C["lifecyclestage"][first_row + 1] == stage
            out.d_contact_row.append(-1 if u < 0.03 else first_row + (1 if on_dup else 0))

    def _member_records(self, r: random.Random, out: _ChunkRecords, p: _Person) -> int:
        """The person's email list members (a second address sometimes): Mailchimp keys them by the
        lowercased address."""
        ws, we, M, bump = self.ws, self.we, out.M, self.bump
        emails = [p.e0 if (not p.e1_linked or r.random() < 0.7) else p.e1]
        if r.random() < 0.06:
            if _is_gmail(emails[0]):
                emails.append(_gmail_variant(emails[0], r.random(), r.random()))
                bump("email_members_gmail_variant_second")
            elif p.e1_linked:
                emails.append(p.e1 if emails[0] == p.e0 else p.e0)
                bump("email_members_second_address")
        base = _wpick(r, (("subscribed", 86), ("unsubscribed", 5), ("cleaned", 2), ("pending", 4),
                          ("transactional", 3)))
        seen_ids = set()
        records = 0
        for mi, em in enumerate(emails):
            typed = em
            if r.random() < 0.03:
                typed = _case_variant(em, r.random())
            elif _is_gmail(em) and mi == 0 and r.random() < 0.04:
                typed = _gmail_variant(em, 0.1, r.random())  # a +tag
            member_id = hashlib.md5(typed.lower().encode()).hexdigest()
            if member_id in seen_ids:
                continue
            seen_ids.add(member_id)
            M["member_id"].append(member_id)
            M["email_address"].append(typed)
            M["first_name"].append("" if r.random() < 0.15 else p.fn.lower() if r.random() < 0.05 else p.fn)
            M["last_name"].append("" if r.random() < 0.2 else p.ln)
            M["phone"].append(format_phone(p.c, p.nsn, r.random(), p.c == 0) if p.nsn and r.random() < 0.2 else "")
            st = base if mi == 0 else "subscribed"
            if st == "pending":
                opt = -1
            elif r.random() < 0.06:
                opt = ws + int(r.random() * (we - ws))
            else:
                opt = ws - int((1 + r.random() * 900) * DAY_MS)
            out.m_opt.append(opt)
            out.m_base.append(st)
            if st in ("unsubscribed", "cleaned"):
                ref = opt if opt >= 0 else ws - 1000 * DAY_MS
                changed = ref + int(r.random() * max(0, ws - ref))
            elif st == "pending":
                changed = ws + int(r.random() * (we - ws))
            else:
                changed = opt + (int(r.random() * max(0, ws - opt)) if r.random() < 0.3 else 0)
            out.m_changed.append(changed)
            out.m_person.append(p.pid)
            records += 1
        return records

    def _web_records(self, r: random.Random, out: _ChunkRecords, p: _Person) -> int:
        """The person's web devices: anonymous cookies that identify by a form (traits) or log in."""
        account = r.random() < 0.45
        uid = f"usr_{int(_mix64(np.array([p.gi ^ self.salt]))[0]):016x}" if account else ""
        u = r.random()
        ndev = 1 if u < 0.72 else 2 if u < 0.94 else 3
        usable = [p.e0] + ([p.e1] if p.e1_linked else [])
        for di in range(ndev):
            if account and di > 0 and r.random() < 0.5:
                kind, form = 2, "login"        # logs in: identify(userId) without traits
                traits = "{}"
            else:
                kind = 1
                if account:
                    form = "signup" if di == 0 else "login"
                else:
                    form = _wpick(r, (("demo", 30), ("contact", 15), ("webinar", 20), ("ebook", 35)))
                em = usable[int(r.random() * len(usable))]
                if r.random() < 0.05:
                    em = _case_variant(em, r.random())
                elif _is_gmail(em) and r.random() < 0.1:
                    em = _gmail_variant(em, r.random(), r.random())
                parts = [f'"email":"{em}"']
                if r.random() < 0.9:
                    parts.append(f'"firstName":"{p.fn}","lastName":"{p.ln}"')
                if p.nsn and r.random() < 0.15:
                    parts.append(f'"phone":"{format_phone(p.c, p.nsn, r.random(), p.c == 0)}"')
                if p.k_comp >= 0 and r.random() < 0.3:
                    parts.append(f'"company":"{self.c_core[p.k_comp]}"')
                traits = "{" + ",".join(parts) + "}"
            out.dev_person.append(p.gi); out.dev_kind.append(kind); out.dev_form.append(form)
            out.dev_userid.append(uid); out.dev_traits.append(traits); out.dev_country.append(p.c)
        self.bump("web_known_people")
        if account:
            self.bump("web_people_with_user_id")
        return ndev

    # ---- CRM output ----------------------------------------------------------------------
    def _write_contacts_deals(self, rng, C, c_created, c_modified, c_dob, c_person, D, d_created, d_modified,
                              d_close, d_contact_row) -> None:
        nc = len(c_person)
        if nc:
            created = np.array(c_created, dtype=np.int64)
            order = np.argsort(created, kind="stable")
            ids_sorted = self.contact_id_next + np.cumsum(rng.integers(1, 3, nc))
            self.contact_id_next = int(ids_sorted[-1]) + 1
            ids = np.empty(nc, dtype=np.int64)
            ids[order] = ids_sorted
            C["hs_object_id"] = ids.tolist()
            C["createdate"] = list(fmt_ts(created))
            C["lastmodifieddate"] = list(fmt_ts(np.array(c_modified, dtype=np.int64)))
            C["date_of_birth"] = fmt_days(c_dob)
            cols = {k: [C[k][i] for i in order.tolist()] for k in CONTACT_COLUMNS}
            rel = FILES["crm_contacts"]
            self.plant_malformed(rng, cols, nc, rel, self.f_contacts.rows + 2, (
                ("date_of_birth", "bad_date", ("31/02/1984", "1985-13-01", "unknown")),
                ("createdate", "bad_timestamp", ("2025-02-30T10:00:00.000Z", "31.12.2024 14:00")),
                ("associatedcompanyid", "bad_integer", ("ACME-123", "12.5e")),
                ("lifecyclestage", "bad_enum", ("prospect", "Kunde")),
                ("lastmodifieddate", "bad_timestamp", ("yesterday", "2024-02-30 25:00")),
            ))
            self.f_contacts.write_columns([cols[k] for k in CONTACT_COLUMNS])
            sorted_person = [c_person[i] for i in order.tolist()]
            self.truth_people.write_columns([["crm_contacts"] * nc, ids_sorted.tolist(), sorted_person])
        nd = len(d_created)
        if nd:
            created = np.array(d_created, dtype=np.int64)
            order = np.argsort(created, kind="stable")
            ids_sorted = self.deal_id_next + np.cumsum(rng.integers(1, 4, nd))
            self.deal_id_next = int(ids_sorted[-1]) + 1
            cid = ids if nc else np.zeros(0, dtype=np.int64)
            D["associated_contact_id"] = [int(cid[k]) if k >= 0 else "" for k in d_contact_row]
            D["createdate"] = list(fmt_ts(created))
            D["closedate"] = list(fmt_ts(np.array(d_close, dtype=np.int64)))
            D["lastmodifieddate"] = list(fmt_ts(np.array(d_modified, dtype=np.int64)))
            cols = {k: [D[k][i] for i in order.tolist()] for k in DEAL_COLUMNS
                    if k not in ("hs_object_id", "contract_term_months")}
            cols["hs_object_id"] = ids_sorted.tolist()
            cols["contract_term_months"] = _deal_contract_terms(ids_sorted, self.salt)
            rel = FILES["crm_deals"]
            self.plant_malformed(rng, cols, nd, rel, self.f_deals.rows + 2, (
                ("amount", "bad_number", ("12,500.00 EUR", "TBD")),
                ("closedate", "bad_timestamp", ("Q3 2026", "2026-06-31")),
                ("dealstage", "bad_enum", ("won", "Closed Won")),
            ))
            self.f_deals.write_columns([cols[k] for k in DEAL_COLUMNS])

    # ---- web -----------------------------------------------------------------------------
    def _web(self, ci, dev_person, dev_kind, dev_form, dev_userid, dev_traits, dev_country) -> int:
        """The web events of a chunk's devices, in named steps that draw from one random stream
        (rng(20, ci)) in a fixed order: the output of a seed depends on that order."""
        nd = len(dev_person)
        if nd == 0:
            return 0
        rng = self.rng(20, ci)
        w = _WebEvents(kinds=np.array(dev_kind, dtype=np.int64))
        self._web_event_counts(rng, w, nd)
        anon = self._web_devices(ci, nd, dev_person, dev_kind)
        self._web_event_types(rng, w, nd, dev_form)
        self._web_sessions(rng, w)
        self._web_pages(rng, w)
        self._web_times(rng, w)
        self._web_page_context(rng, w)
        self._web_bodies(rng, w, ci, dev_traits)
        ctx = self._web_identity_and_context(rng, w, nd, anon, dev_userid, dev_country)
        lines, fday_all, is_dup, recv_all = self._web_delivery(rng, w, *ctx)
        self._web_write_days(rng, lines, fday_all, is_dup, recv_all)
        return nd

    def _web_event_counts(self, rng, w: _WebEvents, nd: int) -> None:
        """Events per device (identifying devices are busier), and each event's device and position."""
        scale = self.days / 30.0
        n_ev = np.where(w.kinds == 0,
                        1 + np.floor(rng.lognormal(0.5, 0.9, nd) * scale),
                        3 + np.floor(rng.lognormal(2.5, 0.85, nd) * scale)).astype(np.int64)
        w.n_ev = np.minimum(n_ev, 400)
        w.E = int(w.n_ev.sum())
        w.dev_of = np.repeat(np.arange(nd), w.n_ev)
        dstart = np.r_[0, np.cumsum(w.n_ev)[:-1]]
        w.pos = np.arange(w.E) - dstart[w.dev_of]

    def _web_devices(self, ci, nd: int, dev_person, dev_kind) -> list[str]:
        """An anonymousId per device, and the ground truth of which person each device is."""
        d_ids = np.arange(self.counters["device"], self.counters["device"] + nd, dtype=np.uint64)
        self.counters["device"] += nd
        anon = _uuid4(_mix64(d_ids ^ np.uint64(self.salt)), _mix64(d_ids ^ np.uint64(self.salt ^ 0x5EED)))
        if self.hard:
            truth_anon, truth_person = _share_devices(self, ci, anon, dev_person, dev_kind)
            self.truth_people.write_columns([["web_visitors"] * len(truth_anon), truth_anon, truth_person])
        else:
            self.truth_people.write_columns([["web_visitors"] * nd, anon, [f"P{p:08d}" for p in dev_person]])
        self.bump("web_visitors", nd)
        return anon

    def _web_event_types(self, rng, w: _WebEvents, nd: int, dev_form) -> None:
        """Page, track or identify per event, with the conversion flow of identifying devices
        (form page, conversion track, identify; a trial start after a signup) and session starts."""
        w.forms = np.array([{"": 0, "demo": 1, "contact": 2, "webinar": 3, "ebook": 4, "signup": 5, "login": 6}[f]
                            for f in dev_form], dtype=np.int64)
        kinds, dev_of, pos = w.kinds, w.dev_of, w.pos
        j_dev = np.where(kinds > 0, 2 + (rng.random(nd) * np.maximum(w.n_ev - 2, 1)).astype(np.int64), -10)
        w.rel = rel = pos - j_dev[dev_of]
        w.identifying = identifying = kinds[dev_of] > 0
        typ = np.where(rng.random(w.E) < 0.8, 0, 1)          # 0 page, 1 track, 2 identify
        new_sess = (pos == 0) | (rng.random(w.E) < 0.22)
        flow = identifying & (rel >= -1) & (rel <= 1)
        new_sess &= ~flow
        w.trial = trial = identifying & (rel == 1) & (w.forms[dev_of] == 5)
        typ[new_sess] = 0
        typ[identifying & (rel == -2)] = 0
        typ[identifying & (rel == -1)] = 1
        typ[identifying & (rel == 0)] = 2
        typ[trial] = 1
        new_sess &= ~trial
        w.typ, w.new_sess = typ, new_sess

    def _web_sessions(self, rng, w: _WebEvents) -> None:
        """Sessions: start times sorted per device, the campaign (ad or newsletter) of the landing."""
        ws, we = self.ws, self.we
        w.sid = np.cumsum(w.new_sess) - 1
        w.S = S = int(w.sid[-1]) + 1
        w.s_first = s_first = np.flatnonzero(w.new_sess)
        s_dev = w.dev_of[s_first]
        span = max(1, (we - ws) - 3_600_000)
        raw = rng.integers(0, span, S)
        key = np.sort((s_dev.astype(np.int64) << 36) | raw)
        w.s_start = s_start = ws + (key & ((1 << 36) - 1))
        s_u = rng.random(S)
        ad_cdf = _choice_cdf([c[9] for c in V.AD_CAMPAIGNS])
        s_ad = np.where(s_u < 0.20, _pick(rng, ad_cdf, S), -1)
        s_mail = np.full(S, -1)
        if len(self.campaign_send):
            last_sent = np.searchsorted(self.campaign_send, s_start, side="right") - 1
            s_mail = np.where((s_u >= 0.20) & (s_u < 0.24), last_sent, -1)
        form_first = w.identifying[s_first] & (w.rel[s_first] == -2)
        s_ad[form_first] = -1
        s_mail[form_first] = -1
        w.s_ad, w.s_mail = s_ad, s_mail

    def _web_pages(self, rng, w: _WebEvents) -> None:
        """The page of each event: by popularity, the form's page before a conversion, the ad's
        landing page on an ad session's first event."""
        page_cdf = _choice_cdf([p[2] for p in V.PAGES])
        page_of = _pick(rng, page_cdf, w.E)
        w.path_idx = path_idx = {p[0]: i for i, p in enumerate(V.PAGES)}
        form_page = np.array([0, *[path_idx[V.FORMS[f][0]] for f in ("demo", "contact", "webinar", "ebook", "signup", "login")]])
        m = w.identifying & (w.rel == -2)
        page_of[m] = form_page[w.forms[w.dev_of[m]]]
        ad_land = np.array([path_idx[c[5]] for c in V.AD_CAMPAIGNS])
        m = w.s_ad >= 0
        page_of[w.s_first[m]] = ad_land[w.s_ad[m]]
        w.page_of = page_of

    def _web_times(self, rng, w: _WebEvents) -> None:
        """Event times: gaps after the session start by event type (a form takes a while to fill)."""
        typ, E = w.typ, w.E
        gap = np.where(typ == 0, 3_000 + rng.exponential(40_000, E), rng.uniform(1_000, 20_000, E))
        gap = np.where(typ == 2, rng.uniform(50, 800, E), gap)
        gap = np.where(w.identifying & (w.rel == -1), rng.uniform(20_000, 120_000, E), gap).astype(np.int64)
        gap[w.new_sess] = 0
        csum = np.cumsum(gap)
        t = w.s_start[w.sid] + csum - csum[w.s_first[w.sid]]
        w.t = np.minimum(t, self.we - 1)

    def _web_page_context(self, rng, w: _WebEvents) -> None:
        """context.page of every event (the current page, forward filled to track/identify events):
        path, referrer (previous page, else external, the ad network or none for a newsletter),
        UTM query and campaign; and the ad landings per day the ad platforms count as clicks."""
        E, S, s_first, s_ad, s_mail = w.E, w.S, w.s_first, w.s_ad, w.s_mail
        w.is_page = is_page = w.typ == 0
        pv = np.maximum.accumulate(np.where(is_page, np.arange(E), 0))
        w.page_ev = page_ev = w.page_of[pv]
        ext_cdf = _choice_cdf([x[1] for x in V.EXTERNAL_REFERRERS])
        paths = np.array([p[0] for p in V.PAGES], dtype=object)
        titles = np.array([p[1] for p in V.PAGES], dtype=object)
        urls = np.array([V.SITE + p[0] for p in V.PAGES], dtype=object)
        w.names = np.array([p[1].split(" | ")[0] if p[0] != "/" else "Home" for p in V.PAGES], dtype=object)
        # referrer: previous page in the session, else an external one (or the ad network)
        ref = np.empty(E, dtype=object)
        prev_pv = np.r_[0, pv[:-1]]
        ref[:] = urls[w.page_of[prev_pv]]
        ext = np.array([x[0] for x in V.EXTERNAL_REFERRERS], dtype=object)[_pick(rng, ext_cdf, S)]
        ad_ref = np.array([c[6] for c in V.AD_CAMPAIGNS], dtype=object)
        ext = np.where(s_ad >= 0, ad_ref[np.maximum(s_ad, 0)], ext)
        ext = np.where(s_mail >= 0, "", ext)
        ref[s_first] = ext
        search = np.full(E, "", dtype=object)
        camp = np.full(E, "", dtype=object)
        ad_q = np.array([f"?utm_source={c[2]}&utm_medium={c[3]}&utm_campaign={c[4]}" for c in V.AD_CAMPAIGNS], dtype=object)
        ad_c = np.array([f',"campaign":{{"name":"{c[4]}","source":"{c[2]}","medium":"{c[3]}"}}' for c in V.AD_CAMPAIGNS], dtype=object)
        ml_q = np.array([f"?utm_source=newsletter&utm_medium=email&utm_campaign={u}" for u in self.campaign_utm] + [""], dtype=object)
        ml_c = np.array([f',"campaign":{{"name":"{u}","source":"newsletter","medium":"email"}}' for u in self.campaign_utm] + [""], dtype=object)
        m = s_ad >= 0
        search[s_first[m]] = ad_q[s_ad[m]]
        camp[s_first[m]] = ad_c[s_ad[m]]
        m = s_mail >= 0
        search[s_first[m]] = ml_q[s_mail[m]]
        camp[s_first[m]] = ml_c[s_mail[m]]
        # events on a landing page keep its campaign context (analytics.js reads it from the URL)
        ref_ev, search_ev, w.camp_ev = ref[pv], search[pv], camp[pv]
        w.pj = np.array([f'{{"path":"{p}","referrer":"{rf}","search":"{q}","title":"{ti}","url":"{u}{q}"}}'
                         for p, rf, q, ti, u in zip(paths[page_ev].tolist(), ref_ev.tolist(), search_ev.tolist(),
                                                   titles[page_ev].tolist(), urls[page_ev].tolist())], dtype=object)
        # ad landings per day and campaign, for the ad platforms' click counts
        m = s_ad >= 0
        np.add.at(self.ad_landings, ((w.t[s_first[m]] - self.ws) // DAY_MS, s_ad[m]), 1)

    def _web_bodies(self, rng, w: _WebEvents, ci, dev_traits) -> None:
        """Head ("type", event name) and body (properties / traits) of every event: page views,
        generic tracks, the conversion of each form, trial starts, the cookie banner's consent
        choice, identify calls with the device's traits."""
        dev_of, identifying, rel, trial, typ, is_page = w.dev_of, w.identifying, w.rel, w.trial, w.typ, w.is_page
        track_names, track_bodies = [], []
        generic = []
        for ev, variants in V.TRACKS:
            for v in variants:
                generic.append(len(track_names))
                track_names.append(ev)
                track_bodies.append(v)
        conv = {}
        for f, key_ in (("demo", 1), ("contact", 2), ("webinar", 3), ("ebook", 4), ("signup", 5), ("login", 6)):
            _, ev, props = V.FORMS[f]
            conv[key_] = []
            fills = V.COMPANY_SIZES if f == "demo" else ("password", "google", "sso") if f == "login" else ("",)
            for fill in fills:
                conv[key_].append(len(track_names))
                track_names.append(ev)
                track_bodies.append(props % fill if "%s" in props else props)
        trial_idx = len(track_names)
        track_names.append(V.TRIAL_STARTED[0])
        track_bodies.append(V.TRIAL_STARTED[1])
        track_of = np.array(generic)[rng.integers(0, len(generic), w.E)]
        m = identifying & (rel == -1)
        if m.any():
            width = max(len(x) for x in conv.values())
            conv_tab = np.zeros((7, width), dtype=np.int64)
            for k_, lst in conv.items():
                conv_tab[k_] = [lst[i % len(lst)] for i in range(width)]
            track_of[m] = conv_tab[w.forms[dev_of[m]], rng.integers(0, width, int(m.sum()))]
        track_of[trial] = trial_idx
        # the cookie banner: a visitor's first tracked event (outside the conversion flow) is their
        # consent choice, for most visitors (own random stream: the rest of the data is unchanged)
        consent_idx = len(track_names)
        for _share, props in V.CONSENT_CHOICES:
            track_names.append(V.CONSENT_UPDATED)
            track_bodies.append(props)
        crng = self.rng(27, ci)
        cand = np.flatnonzero((typ == 1) & ~(identifying & (rel == -1)) & ~trial)
        _, first = np.unique(dev_of[cand], return_index=True)
        chosen = cand[first][crng.random(len(first)) < V.CONSENT_ANSWER_RATE]
        shares = np.cumsum([share for share, _ in V.CONSENT_CHOICES])
        track_of[chosen] = consent_idx + np.searchsorted(shares, crng.random(len(chosen)) * shares[-1])
        self.bump("web_consent_events", len(chosen))
        heads = np.array([f'"type":"track","event":"{e}"' for e in track_names], dtype=object)
        tbodies = np.array(['"properties":' + b for b in track_bodies], dtype=object)
        head = np.empty(w.E, dtype=object)
        body = np.empty(w.E, dtype=object)
        page_heads = np.array([f'"type":"page","name":"{nm}"' for nm in w.names], dtype=object)
        head[is_page] = page_heads[w.page_ev[is_page]]
        body[is_page] = '"properties":' + w.pj[is_page]
        m = typ == 1
        head[m] = heads[track_of[m]]
        body[m] = tbodies[track_of[m]]
        m = typ == 2
        head[m] = '"type":"identify"'
        traits_arr = np.array(['"traits":' + (tr or "{}") for tr in dev_traits], dtype=object)
        body[m] = traits_arr[dev_of[m]]
        w.head, w.body = head, body

    def _web_identity_and_context(self, rng, w: _WebEvents, nd: int, anon, dev_userid, dev_country) -> tuple:
        """userId once the device has identified (accounts only); per device the anonymousId, IP,
        locale and user agent of context. Returns (uid per event, anonymousIds, context heads, tails)."""
        uid_arr = np.array([f',"userId":"{u}"' if u else "" for u in dev_userid], dtype=object)
        has_uid = w.identifying & (w.rel >= 0)
        uid_ev = np.where(has_uid, uid_arr[w.dev_of], "")
        anon_arr = np.array(anon, dtype=object)
        ip = rng.integers(0, 1 << 32, nd, dtype=np.uint64)
        ua = rng.integers(0, len(V.USER_AGENTS), nd)
        loc_u = rng.random(nd)
        ctx_head = np.array([f'{{"ip":"{_ip(int(i))}","library":{{"name":"analytics.js","version":"next-1.70.0"}},'
                             f'"locale":"{V.LOCALES[c][0 if lu < 0.8 else -1]}","page":'
                             for i, c, lu in zip(ip.tolist(), dev_country, loc_u.tolist())], dtype=object)
        ctx_tail = np.array([f',"userAgent":"{V.USER_AGENTS[k]}"}}' for k in ua.tolist()], dtype=object)
        return uid_ev, anon_arr, ctx_head, ctx_tail

    def _web_delivery(self, rng, w: _WebEvents, uid_ev, anon_arr, ctx_head, ctx_tail) -> tuple:
        """sentAt / receivedAt, late arrivals into the next day's file, re-deliveries, messageIds,
        and the JSON line of every delivered message. Returns (lines, file day of each line,
        whether it is a re-delivery, its receivedAt)."""
        t, E, ws = w.t, w.E, self.ws
        day = (t - ws) // DAY_MS
        sent = t + rng.integers(0, 3_000, E)
        recv = sent + rng.integers(50, 1_500, E)
        late = (rng.random(E) < 0.02) & (day < self.days - 1)
        fday = day + late
        recv = np.where(late, ws + (day + 1) * DAY_MS + rng.integers(0, 6 * 3_600_000, E), recv)
        sent = np.where(late, recv - rng.integers(50, 1_000, E), sent)
        self.bump("web_late_events", int(late.sum()))
        dup = np.flatnonzero(rng.random(E) < 0.005)
        self.bump("web_redelivered_events", len(dup))
        src = np.r_[np.arange(E), dup]
        recv_all = np.r_[recv, recv[dup] + rng.integers(1_000, 600_000, len(dup))]
        fday_all = fday[src]
        m_ids = np.arange(self.counters["message"], self.counters["message"] + E, dtype=np.uint64)
        self.counters["message"] += E
        hi = _mix64(m_ids ^ np.uint64(self.salt ^ 0xA11CE))
        lo = _mix64(m_ids ^ np.uint64(self.salt ^ 0xB0B))
        mid = np.array([f"ajs-next-{a:016x}{b:016x}" for a, b in zip(hi.tolist(), lo.tolist())], dtype=object)
        ts_s = fmt_ts(t)
        sent_s = fmt_ts(sent)
        recv_s = fmt_ts(recv_all)
        dv = w.dev_of[src]
        lines = [f'{{"messageId":"{m_}",{h},"anonymousId":"{a}"{u},"timestamp":"{ts}","sentAt":"{se}",'
                 f'"receivedAt":"{rc}",{b},"context":{ch}{p}{cp}{ct}}}'
                 for m_, h, a, u, ts, se, rc, b, ch, p, cp, ct in zip(
                     mid[src].tolist(), w.head[src].tolist(), anon_arr[dv].tolist(), uid_ev[src].tolist(),
                     ts_s[src].tolist(), sent_s[src].tolist(), recv_s.tolist(), w.body[src].tolist(),
                     ctx_head[dv].tolist(), w.pj[src].tolist(), w.camp_ev[src].tolist(), ctx_tail[dv].tolist())]
        is_dup = np.r_[np.zeros(E, bool), np.ones(len(dup), bool)]
        return lines, fday_all, is_dup, recv_all

    def _web_write_days(self, rng, lines: list[str], fday_all, is_dup, recv_all) -> None:
        """Append the lines to each day's file in rough arrival order (not sorted by event time),
        planting malformed lines (truncated JSON, impossible timestamps) among the first deliveries."""
        jitter = recv_all + rng.normal(0, 20_000, len(lines)).astype(np.int64)
        order = np.lexsort((jitter, fday_all))
        counts = np.bincount(fday_all, minlength=self.days)
        at = 0
        for d in range(self.days):
            k = int(counts[d])
            if k == 0:
                continue
            idx = order[at:at + k]
            at += k
            block = [lines[i] for i in idx.tolist()]
            n_bad = int(k * MALFORMED_RATE)
            if n_bad:
                cand = np.flatnonzero(~is_dup[idx])
                for row in np.sort(rng.choice(cand, size=min(n_bad, len(cand)), replace=False)).tolist():
                    line = block[row]
                    if rng.random() < 0.75:
                        block[row] = line[: int(20 + rng.random() * (len(line) - 40))]
                        kind = "truncated_json"
                    else:
                        q = line.index('"timestamp":"') + 13
                        block[row] = line[:q] + "2026-10-32T25:61:00Z" + line[q + 24:]
                        kind = "bad_timestamp"
                    self.malformed.append((self.web_names[d], self.web_lines[d] + row + 1, kind))
            self.web_files[d].write("\n".join(block) + "\n")
            self.web_lines[d] += k

    # ---- email -------------------------------------------------------------------------
    def _members_and_email_events(self, ci, M, m_opt, m_changed, m_person, m_base) -> None:
        nm = len(m_person)
        if nm == 0:
            return
        rng = self.rng(30, ci)
        we = self.we
        opt = np.array(m_opt, dtype=np.int64)
        changed = np.array(m_changed, dtype=np.int64)
        status = np.array(m_base, dtype=object)
        nc = len(self.campaign_send)
        ev_member, ev_camp, ev_type, ev_time = [], [], [], []
        if nc:
            send = self.campaign_send
            elig = (status == "subscribed")[:, None] & (opt[:, None] < send[None, :])
            u = rng.random((nm, nc))
            stop_unsub = elig & (u < 0.003)
            stop_hard = elig & (u >= 0.003) & (u < 0.006)
            stop = stop_unsub | stop_hard
            first_stop = np.where(stop.any(axis=1), stop.argmax(axis=1), nc)
            sent = elig & (np.arange(nc)[None, :] <= first_stop[:, None])
            at_stop = sent & (np.arange(nc)[None, :] == first_stop[:, None])
            unsub = at_stop & stop_unsub
            hard = at_stop & stop_hard
            soft = sent & ~at_stop & (rng.random((nm, nc)) < 0.007)
            bounce = soft | hard
            opened = (sent & ~bounce & (rng.random((nm, nc)) < 0.25)) | unsub
            clicked = opened & ~unsub & (rng.random((nm, nc)) < 0.16)
            reopen = opened & (rng.random((nm, nc)) < 0.12)
            mi, cj = np.nonzero(sent)
            t_send = send[cj] + rng.integers(0, 1_200_000, len(mi))
            t_send = np.minimum(t_send, we - 1)
            T = np.zeros((nm, nc), dtype=np.int64)
            T[mi, cj] = t_send
            t_open = T + rng.exponential(6 * 3_600_000, (nm, nc)).astype(np.int64) + 30_000
            t_click = t_open + rng.integers(5_000, 600_000, (nm, nc))
            t_unsub = t_open + rng.integers(10_000, 300_000, (nm, nc))
            t_reopen = t_open + rng.exponential(86_400_000, (nm, nc)).astype(np.int64)
            t_bounce = T + rng.integers(2_000, 600_000, (nm, nc))
            pieces = [(sent, T, 0), (bounce, t_bounce, 3), (opened, t_open, 1), (reopen, t_reopen, 1),
                      (clicked, t_click, 2), (unsub, t_unsub, 4)]
            for mask, tt, kind in pieces:
                a, b = np.nonzero(mask)
                ev_member.append(a)
                ev_camp.append(b)
                ev_type.append(np.full(len(a), kind))
                ev_time.append(np.minimum(tt[a, b], we - 1))
            # final membership status follows what happened in the window
            um, uc = np.nonzero(unsub)
            status[um] = "unsubscribed"
            changed[um] = np.minimum(t_unsub[um, uc], we - 1)
            hm, hc = np.nonzero(hard)
            status[hm] = "cleaned"
            changed[hm] = np.minimum(t_bounce[hm, hc], we - 1)
            self.bump("email_unsubscribed_in_window", len(um))
            self.bump("email_cleaned_in_window", len(hm))
        M["list_id"] = [LIST_ID] * nm
        M["status"] = status.tolist()
        M["timestamp_opt"] = list(fmt_ts(opt, "s+"))
        M["last_changed"] = list(fmt_ts(changed, "s+"))
        cols = {k: list(M[k]) for k in MEMBER_COLUMNS}
        rel = FILES["email_members"]
        self.plant_malformed(rng, cols, nm, rel, self.f_members.rows + 2, (
            ("last_changed", "bad_timestamp", ("2026-02-30 25:00:00", "last week")),
            ("timestamp_opt", "bad_timestamp", ("0000-00-00 00:00:00",)),
            ("status", "bad_enum", ("subscribe", "active")),
        ))
        self.f_members.write_columns([cols[k] for k in MEMBER_COLUMNS])
        self.truth_people.write_columns([["email_members"] * nm, M["member_id"], m_person])

        if not ev_member:
            return
        em = np.concatenate(ev_member)
        ec = np.concatenate(ev_camp)
        et = np.concatenate(ev_type)
        tt = np.concatenate(ev_time)
        order = np.lexsort((tt, ec))
        em, ec, et, tt = em[order], ec[order], et[order], tt[order]
        n = len(em)
        ids = np.arange(self.counters["event"], self.counters["event"] + n, dtype=np.uint64)
        self.counters["event"] += n
        event_id = _hex16(_mix64(ids ^ np.uint64(self.salt ^ 0xE4E47)))
        type_names = np.array(["send", "open", "click", "bounce", "unsubscribe"], dtype=object)
        member_ids = np.array(M["member_id"], dtype=object)
        emails = np.array(M["email_address"], dtype=object)
        camp_ids = np.array(self.campaign_ids, dtype=object)
        click_paths = np.array(["/blog/what-is-a-cdp", "/webinars/cdp-101", "/pricing", "/product/audiences",
                                "/blog/identity-resolution-explained", "/demo"], dtype=object)
        url = np.full(n, "", dtype=object)
        ck = np.flatnonzero(et == 2)
        utm = np.array(self.campaign_utm, dtype=object)
        url[ck] = (V.SITE + click_paths[rng.integers(0, len(click_paths), len(ck))]
                   + "?utm_source=newsletter&utm_medium=email&utm_campaign=" + utm[ec[ck]])
        cols = {
            "event_id": event_id,
            "campaign_id": camp_ids[ec].tolist(),
            "member_id": member_ids[em].tolist(),
            "email_address": emails[em].tolist(),
            "event_type": type_names[et].tolist(),
            "timestamp": list(fmt_ts(tt, "s+")),
            "url": url.tolist(),
        }
        rel = FILES["email_events"]
        self.plant_malformed(rng, cols, n, rel, self.f_email_events.rows + 2, (
            ("timestamp", "bad_timestamp", ("N/A", "2026-10-06T25:00:00+00:00")),
            ("event_type", "bad_enum", ("opened", "hard_bounce")),
        ))
        self.f_email_events.write_columns([cols[k] for k in EMAIL_EVENT_COLUMNS])

    # ---- ad spend ------------------------------------------------------------------------
    def ad_spend(self) -> None:
        rng = self.rng(3)
        n_c = len(V.AD_CAMPAIGNS)
        ids = []
        for platform, *_ in V.AD_CAMPAIGNS:
            digits = {"google_ads": 11, "meta_ads": 18, "linkedin_ads": 9}[platform]
            ids.append(str(int(rng.integers(10 ** (digits - 1), 10 ** digits - 1, dtype=np.int64))))
        # campaigns start/stop at different days of the window
        active_from = np.where(rng.random(n_c) < 0.25, rng.integers(0, max(1, self.days // 2), n_c), 0)
        cols = {c: [] for c in AD_SPEND_COLUMNS}
        for d in range(self.days):
            day_s = (self.start_date + timedelta(days=d)).isoformat()
            for k, (platform, name, src, med, utm, _land, _ref, ctr, cpc, _w) in enumerate(V.AD_CAMPAIGNS):
                landings = int(self.ad_landings[d, k])
                if d < active_from[k] and landings == 0:
                    continue
                # not every click is tracked on the site (blockers, bounces before the tag fires)
                clicks = landings + int(rng.poisson(landings * 0.35 + 0.5))
                impressions = int(round(clicks / ctr * rng.uniform(0.8, 1.25))) + int(rng.poisson(50))
                spend = round(clicks * rng.uniform(*cpc) + impressions * 0.0004, 2)
                cols["date"].append(day_s)
                cols["platform"].append(platform)
                cols["campaign_id"].append(ids[k])
                cols["campaign_name"].append(name)
                cols["utm_source"].append(src)
                cols["utm_medium"].append(med)
                cols["utm_campaign"].append(utm)
                cols["impressions"].append(impressions)
                cols["clicks"].append(clicks)
                cols["spend"].append(f"{spend:.2f}")
        n = len(cols["date"])
        self.plant_malformed(rng, cols, n, FILES["ad_spend"], 2, (
            ("spend", "bad_number", ("n/a", "1.234,56")),
            ("date", "bad_date", ("2026-02-30",)),
        ))
        out = _Csv(self.out / FILES["ad_spend"], AD_SPEND_COLUMNS)
        out.write_columns([cols[c] for c in AD_SPEND_COLUMNS])
        out.close()
        self.stats["ad_spend"] = n


# ------------------------------------------------------------------------------------------
@dataclass
class _Person:
    """One simulated person while their records are written (e1: a second address, when any)."""
    gi: int
    pid: str
    c: int
    fn: str
    ln: str
    fs: str
    ls: str
    k_comp: int
    nsn: str
    e0: str
    e1: str | None
    is_role: bool
    is_switch: bool = False
    e1_linked: bool = False
    created0: int = 0


@dataclass
class _ChunkRecords:
    """The columns of one chunk's records, per system, filled person by person."""
    C: dict
    D: dict
    M: dict
    c_created: list = field(default_factory=list)
    c_modified: list = field(default_factory=list)
    c_dob: list = field(default_factory=list)
    c_person: list = field(default_factory=list)
    d_created: list = field(default_factory=list)
    d_modified: list = field(default_factory=list)
    d_close: list = field(default_factory=list)
    d_contact_row: list = field(default_factory=list)
    m_opt: list = field(default_factory=list)
    m_changed: list = field(default_factory=list)
    m_person: list = field(default_factory=list)
    m_base: list = field(default_factory=list)
    dev_person: list = field(default_factory=list)
    dev_kind: list = field(default_factory=list)
    dev_form: list = field(default_factory=list)
    dev_userid: list = field(default_factory=list)
    dev_traits: list = field(default_factory=list)
    dev_country: list = field(default_factory=list)


def _lifecycle_stage(r: random.Random, deals: list[str]) -> str:
    """The CRM lifecycle stage the person's deals imply (a weighted pick without deals)."""
    if "closedwon" in deals:
        return "customer"
    if any(s not in ("closedwon", "closedlost") for s in deals):
        return "opportunity"
    if deals:
        return "salesqualifiedlead" if r.random() < 0.6 else "lead"
    return _wpick(r, (("subscriber", 15), ("lead", 45), ("marketingqualifiedlead", 18),
                      ("salesqualifiedlead", 9), ("other", 3), ("evangelist", 1), ("", 9)))


def _wpick_u(items, u: float):
    total = sum(w for _, w in items)
    acc = 0.0
    for v, w in items:
        acc += w / total
        if u < acc:
            return v
    return items[-1][0]


def _coprime_stride(size: int) -> int:
    s = 7_919
    while math.gcd(s, size) != 1:
        s += 2
    return s


def _ip(v: int) -> str:
    a = 23 + (v >> 24) % 200   # 23..222: public unicast, never 10/127/172.16/192.168
    if a in (127, 172, 192):
        a += 1
    return f"{a}.{(v >> 16) & 255}.{(v >> 8) & 255}.{1 + (v & 255) % 254}"


def _postcode(c: int, key: str, r: random.Random) -> str:
    if c == 0:
        return f"{key}{int(r.random() * 100):02d}"
    if c == 1:
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        return (f"{key}{1 + int(r.random() * 9)} {int(r.random() * 10)}"
                f"{letters[int(r.random() * 20)]}{letters[int(r.random() * 20)]}")
    if c == 2:
        return f"{key}{int(r.random() * 1000):03d}"
    return f"{key}{int(r.random() * 100):02d}"


# ---- hard mode ---------------------------------------------------------------------------
# Extra noise for measuring identity resolution (generate(..., hard=True)). It only runs in
# hard mode and draws from its own random streams, so the default output stays byte-identical.

def _harden_contacts(g: _Generator, ci: int, C: dict, c_person: list, m_person: list, dev_person: list) -> None:
    """Nicknames, swapped first/last, extra typos and missing emails on duplicate CRM contacts;
    family phones (and address and last name) shared by two different people."""
    r = random.Random(int(g.rng(90, ci).integers(1 << 62)))
    n = len(c_person)
    for i in range(1, n):
        if c_person[i] != c_person[i - 1]:
            continue
        first, last = C["firstname"][i], C["lastname"][i]
        u = r.random()
        if u < 0.15 and first in V.NICKNAMES:
            nicks = V.NICKNAMES[first]
            C["firstname"][i] = nicks[int(r.random() * len(nicks))]
            g.bump("hard_nicknames")
        elif u < 0.20 and first and last:
            C["firstname"][i], C["lastname"][i] = last, first
            g.bump("hard_swapped_names")
        elif u < 0.35:
            if r.random() < 0.5:
                C["firstname"][i] = _typo(first, r.random(), r.random())
            else:
                C["lastname"][i] = _typo(last, r.random(), r.random())
            g.bump("hard_extra_typos")
        has_phone = bool(C["phone"][i] or C["mobilephone"][i])
        if C["email"][i] and r.random() < (0.10 if has_phone else 0.03):
            C["email"][i] = ""
            g.bump("hard_missing_emails")
    # family phones: a lone CRM contact (no other record anywhere) gets the phone, address and
    # last name of another CRM person of the chunk - two different people on one home number
    counts: dict = {}
    for p in c_person:
        counts[p] = counts.get(p, 0) + 1
    elsewhere = set(m_person) | {f"P{d:08d}" for d in dev_person}
    first_row: dict = {}
    for i, p in enumerate(c_person):
        first_row.setdefault(p, i)
    lone = [i for p, i in first_row.items() if counts[p] == 1 and p not in elsewhere and C["email"][i]]
    donors = [i for p, i in first_row.items() if C["phone"][i]]
    for i in lone:
        if not donors or r.random() >= 0.08:
            continue
        d = donors[int(r.random() * len(donors))]
        if c_person[d] == c_person[i] or C["country"][d] != C["country"][i]:
            continue
        C["phone"][i] = C["phone"][d]
        C["lastname"][i] = C["lastname"][d]
        C["address"][i], C["city"][i], C["zip"][i] = C["address"][d], C["city"][d], C["zip"][d]
        g.bump("hard_family_phones")


def _share_devices(g: _Generator, ci: int, anon: list, dev_person: list, dev_kind: list) -> tuple[list, list]:
    """Reused anonymousIds: ~3 % of identifying devices are a device another person of the chunk
    also identifies on (a family laptop). A device used by several people is nobody's profile:
    the truth lists it as its own entity, `DEVICE-<anonymousId>`, so merging it is an error."""
    rng = g.rng(91, ci)
    idx = [i for i, k in enumerate(dev_kind) if k > 0]
    shared: dict = {}
    if len(idx) > 1:
        for i in idx:
            if rng.random() < 0.03:
                j = idx[int(rng.integers(len(idx)))]
                if dev_person[j] != dev_person[i]:
                    anon[i] = anon[j]
                    shared[anon[j]] = True
    g.bump("hard_shared_devices", len(shared))
    truth_anon, truth_person, seen = [], [], set()
    for a, p in zip(anon, dev_person):
        if a in seen:
            continue
        seen.add(a)
        truth_anon.append(a)
        truth_person.append(f"DEVICE-{a}" if a in shared else f"P{p:08d}")
    return truth_anon, truth_person


def generate(landing: Path, people: int, seed: int = 42, end_date: date = DEFAULT_END_DATE,
             days: int = 30, hard: bool = False) -> dict:
    """Write the demo sources for `people` simulated people into `landing`; return the summary.

    hard=True adds the noise of `_harden_contacts` and `_share_devices` (nicknames, swapped
    names, typos, missing emails, family phones, shared devices) on top of the default mess."""
    return _Generator(Path(landing), people, seed, end_date, days, hard).run()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m orchestration.demo.generator",
                                description="Generate demo CRM, web and marketing sources.")
    p.add_argument("--people", type=int, default=3000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--landing", type=Path, default=Path("data/landing"))
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--end-date", default=DEFAULT_END_DATE.isoformat())
    p.add_argument("--hard", action="store_true", help="more noise for identity resolution (see README)")
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    summary = generate(a.landing, a.people, a.seed, date.fromisoformat(a.end_date), a.days, a.hard)
    dt = time.perf_counter() - t0
    print(json.dumps({k: v for k, v in summary.items() if not isinstance(v, dict)}, indent=2))
    print(f"generated into {a.landing} in {dt:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
