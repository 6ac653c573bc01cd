"""Country spellings ("United Kingdom", "UK", "gb", "Deutschland") to ISO 3166-1 alpha-2: the
region national phone numbers of a record are read in, and the country column of staging.

dbt's macro country_iso2 (macros/normalize_phone.sql) maps the same spellings in SQL;
tests/test_identifier_normalization.py checks both give the same answer for every spelling here.
"""

from __future__ import annotations

# Spellings are compared trimmed and upper-cased; any other two-letter text passes through
# upper-cased (an ISO2 code not listed), anything else is unknown (None).
SPELLINGS: dict[str, tuple[str, ...]] = {
    "US": ("US", "USA", "U.S.", "U.S.A.", "UNITED STATES", "UNITED STATES OF AMERICA", "AMERICA"),
    "CA": ("CA", "CAN", "CANADA"),
    "GB": ("GB", "GBR", "UK", "U.K.", "UNITED KINGDOM", "GREAT BRITAIN", "ENGLAND", "SCOTLAND", "WALES",
           "NORTHERN IRELAND"),
    "DE": ("DE", "DEU", "GERMANY", "DEUTSCHLAND"),
    "FR": ("FR", "FRA", "FRANCE"),
    "ES": ("ES", "ESP", "SPAIN", "ESPANA", "ESPAÑA"),
    "IT": ("IT", "ITA", "ITALY", "ITALIA"),
    "NL": ("NL", "NLD", "NETHERLANDS", "THE NETHERLANDS", "HOLLAND"),
    "IE": ("IE", "IRL", "IRELAND"),
    "AU": ("AU", "AUS", "AUSTRALIA"),
    "CH": ("CH", "CHE", "SWITZERLAND", "SCHWEIZ", "SUISSE"),
    "AT": ("AT", "AUT", "AUSTRIA", "ÖSTERREICH", "OESTERREICH"),
    "BE": ("BE", "BEL", "BELGIUM", "BELGIQUE", "BELGIE"),
}
_ISO2 = {spelling: iso2 for iso2, spellings in SPELLINGS.items() for spelling in spellings}


def iso2(country: str | None) -> str | None:
    if country is None:
        return None
    c = str(country).strip(" ").upper()
    if c in _ISO2:
        return _ISO2[c]
    return c if len(c) == 2 and c.isascii() and c.isalpha() else None
