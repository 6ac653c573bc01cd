"""Identifier normalization and SHA-256 hashing for ad platform audiences, per platform.

The platforms differ, so each has its own function, following its documentation:

Google (Customer Match / Data Manager API, "Format user data",
https://developers.google.com/data-manager/api/get-started/formatting):
  email  lowercase; trim leading, trailing and intermediate whitespace; for gmail.com and
         googlemail.com remove all dots before the @ (the docs do not strip "+tags", so
         neither do we)
  phone  E.164: "+", country code, digits only; e.g. (800)555-0100 -> +18005550100
Meta (Conversions API / custom audiences, "Customer information parameters",
https://developers.facebook.com/docs/marketing-api/conversions-api/parameters/customer-information-parameters):
  email  trim, lowercase (no Gmail folding)
  phone  digits only, with country code, no "+" and no leading zeros;
         e.g. US (650)555-1212 -> 16505551212
Both: SHA-256 of the UTF-8 bytes, lowercase hex.

Phones are read by the project's one phone normalization (orchestration/identifiers/phone.py,
libphonenumber, valid numbers only), so an audience hashes the numbers identity linked on.
"""

from __future__ import annotations

import hashlib
import re

from orchestration.identifiers import email as emails
from orchestration.identifiers.phone import to_e164


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def google_email(email: str | None) -> str | None:
    if email is None:
        return None
    e = re.sub(r"\s+", "", email).lower()
    if "@" not in e:
        return None
    local, _, domain = e.rpartition("@")
    if emails.is_gmail(domain):
        local = local.replace(".", "")
    return f"{local}@{domain}" if local and domain else None


def google_phone(phone: str | None, default_region: str | None = None) -> str | None:
    return to_e164(phone, default_region)


def meta_email(email: str | None) -> str | None:
    if email is None:
        return None
    e = email.strip().lower()
    return e if "@" in e else None


def meta_phone(phone: str | None, default_region: str | None = None) -> str | None:
    e164 = to_e164(phone, default_region)
    return e164[1:].lstrip("0") if e164 else None


PLATFORMS = {
    "google_customer_match": {"email": google_email, "phone": google_phone},
    "meta_custom_audience": {"email": meta_email, "phone": meta_phone},
}


def hashed(platform: str, kind: str, value: str | None, default_region: str | None = None) -> str | None:
    fn = PLATFORMS[platform][kind]
    normalized = fn(value, default_region) if kind == "phone" else fn(value)
    return sha256_hex(normalized) if normalized else None
