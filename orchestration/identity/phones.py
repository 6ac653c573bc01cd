"""Phone numbers to E.164 with libphonenumber (the `phonenumbers` port).

Cost at scale: parsing is ~20 us per value, so the dbt model normalizes each DISTINCT
(raw text, region) pair once - at 1M people that is well under a million parses, not one per
row read - and the records join the result.
"""

from __future__ import annotations

import phonenumbers

DEFAULT_REGION = "US"


def to_e164(raw: str | None, region: str | None = None, default_region: str = DEFAULT_REGION) -> str | None:
    """E.164 ('+4915123456789') of a typed phone number, or None when it is not a valid number.

    A leading '00' is the international prefix of most countries and is read as '+'; a number
    without one is national to `region` (the record's ISO2 country), else `default_region`.
    Extensions ('x12', 'ext. 12') are dropped by the parser.
    """
    if raw is None:
        return None
    text = str(raw).strip()
    if not text or len(text) > 64:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, (region or default_region or DEFAULT_REGION).upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
