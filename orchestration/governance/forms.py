"""Identifier forms: the ledger tokens ("<kind>:<value>") an identifier stands for.

An email stands for its normalized address and its Gmail match key, a phone for every E.164
form identity may have read it as, and both for the SHA-256 values the ad platform exports
carry; ids (CRM contact, email member, web ids, customer_id) for themselves. The forms come from
the project's normalization modules (orchestration/identifiers/), so erasure finds every form
identity produced. Text is searched for identifiers with TOKEN_RE (emails, +E.164, 64-hex
hashes, customer ids).
"""

from __future__ import annotations

import re

from orchestration.governance.hashing import PLATFORMS, sha256_hex
from orchestration.governance.ledger import ErasureError
from orchestration.identifiers import country, email, phone

EMAIL_RE = r"[a-z0-9._%+\-]+@[a-z0-9.\-]+\.[a-z]{2,}"
TOKEN_RE = re.compile(rf"({EMAIL_RE})|(\+[0-9]{{8,15}})|\b([0-9a-f]{{64}})\b|\b(cus_[0-9a-f]{{16}})\b")


def region(country_text: str | None) -> str | None:
    """The ISO2 region national phone numbers of a record with this country are read in."""
    return country.iso2(country_text)


def email_forms(address: str | None) -> set[str]:
    return email.forms(address)


def phone_forms(number: str | None, region_iso2: str | None = None) -> set[str]:
    if number is None or not str(number).strip():
        return set()
    return phone.e164_forms(str(number), region_iso2)


def tokens(kind: str, value, region_iso2: str | None = None) -> set[str]:
    """The ledger tokens an identifier value stands for (before keyed hashing)."""
    if value is None:
        return set()
    if kind == "email":
        return {f"email:{e}" for e in email_forms(str(value))}
    if kind == "phone":
        return {f"phone:{p}" for p in phone_forms(str(value), region_iso2)}
    if kind == "sha256":
        return {f"sha256:{str(value).lower()}"}
    v = str(value).strip()
    return {f"{kind}:{v}"} if v else set()


def text_token_tokens(raw: str) -> set[str]:
    """Ledger tokens of a token TOKEN_RE found in text."""
    t = raw.lower()
    if "@" in t:
        return tokens("email", t)
    if t.startswith("+"):
        return {f"phone:{t}"}
    if t.startswith("cus_"):
        return {f"customer:{t}"}
    return {f"sha256:{t}"}


def platform_hash_tokens(emails: set[str], phones: set[str]) -> set[str]:
    """The SHA-256 values ad platform exports would carry for these identifiers."""
    out = set()
    for fns in PLATFORMS.values():
        for e in emails:
            n = fns["email"](e)
            if n:
                out.add(f"sha256:{sha256_hex(n)}")
        for p in phones:
            n = fns["phone"](p, None)
            if n:
                out.add(f"sha256:{sha256_hex(n)}")
    for e in emails:  # the normalized email itself, hashed (what a plain "hashed email" column would be)
        out.add(f"sha256:{sha256_hex(e)}")
    return out


def classify(identifier: str) -> str:
    """The kind of identifier an erasure / access request names."""
    ident = identifier.strip()
    if re.fullmatch(r"cus_[0-9a-f]{16}", ident):
        return "customer"
    if "@" in ident:
        return "email"
    if re.fullmatch(r"[+()0-9 .\-]{6,}", ident):
        return "phone"
    raise ErasureError(f"not an email, phone or customer_id: give one of those (got {len(ident)} characters)")
