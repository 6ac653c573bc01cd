"""Email addresses: the normalized address and the match key identity links on.

  normalize(email)  trimmed (spaces) and lower-cased; None unless it looks like local@domain.tld
                    (no whitespace, one @, a top-level domain of two letters or more)
  match_key(email)  for Gmail (gmail.com, googlemail.com), which ignores dots and "+tags" in the
                    local part: <local without dots and +tag>@gmail.com; any other provider
                    treats those characters as significant, so the key is the address itself
  forms(email)      every form identity may have produced for a typed address (erasure)

dbt applies the same rules in SQL (macros normalize_email / email_match_key); the test
tests/test_identifier_normalization.py runs both over one table of cases.
"""

from __future__ import annotations

import re

GMAIL_DOMAINS = ("gmail.com", "googlemail.com")
GMAIL_KEY_DOMAIN = "gmail.com"
# as the SQL macro's regex: RE2's \s is [\t\n\f\r ]; `$` is the end of the text
_LOOKS_VALID = re.compile(r"[^@\t\n\f\r ]+@[^@\t\n\f\r ]+\.[a-z]{2,}")


def normalize(email: str | None) -> str | None:
    if email is None:
        return None
    e = str(email).strip(" ").lower()  # SQL trim() strips spaces only
    return e if _LOOKS_VALID.fullmatch(e) else None


def is_gmail(domain: str) -> bool:
    return domain in GMAIL_DOMAINS


def match_key(email: str | None) -> str | None:
    """The key of an already normalized address (`normalize`)."""
    if email is None:
        return None
    local, _, domain = email.partition("@")
    if is_gmail(domain):
        return local.split("+", 1)[0].replace(".", "") + "@" + GMAIL_KEY_DOMAIN
    return email


def forms(email: str | None) -> set[str]:
    """The address as identity normalized it, its match key, and - for text that staging would
    not accept as it stands (other whitespace around it) - the same for the text trimmed of
    every whitespace: what an erasure of this address must find."""
    if not email or "@" not in str(email):
        return set()
    out: set[str] = set()
    for candidate in {str(email).strip(" ").lower(), str(email).strip().lower()}:
        normalized = normalize(candidate) or candidate
        out |= {normalized, match_key(normalized)}
    return out
