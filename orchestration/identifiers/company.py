"""Company names: one key for "the same company name", whatever its legal form and spelling.

  name_key(name)       Python: the key of a company name, or None when nothing is left
  name_key_sql(expr)   the same rule as a DuckDB SQL expression over `expr`

The key: accents stripped (canonical decomposition, as DuckDB's strip_accents: a ligature or
a letter such as "ø" that has no accent to strip is dropped with the other non-ASCII), lower case, dots dropped (so "S.A." is "sa", "Inc." is
"inc"), other punctuation as spaces, the legal-form words of LEGAL_FORMS and a "the" removed as
whole words, then everything but letters and digits removed: "The Acme Corp." , "ACME, Inc" and
"Acmé GmbH" are all "acme". A name made only of such words ("The Company Ltd" keeps "company")
has no key when nothing is left.

Identity's record matching (orchestration/identity/matching.py) compares company names by this
key in SQL; account clustering can call name_key in Python. tests/test_identity_matching.py
checks both agree on one table of cases.
"""

from __future__ import annotations

import re
import unicodedata

# Legal forms (and the article) that say nothing about which company it is.
LEGAL_FORMS = ("the", "inc", "llc", "corp", "corporation", "co", "ltd", "limited", "plc", "gmbh", "ag", "kg",
               "se", "sa", "sas", "sarl", "bv", "nv", "group")
_LEGAL_PATTERN = r"\b(" + "|".join(LEGAL_FORMS) + r")\b"
_LEGAL = re.compile(_LEGAL_PATTERN)


def name_key(name) -> str | None:
    """The key of a company name (see the module docstring); None for a missing or empty name."""
    if name is None or (isinstance(name, float) and name != name):
        return None
    text = unicodedata.normalize("NFD", str(name)).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9 ]+", " ", text.replace(".", ""))
    text = re.sub(r"[^a-z0-9]+", "", _LEGAL.sub(" ", text))
    return text or None


def name_key_sql(expr: str) -> str:
    """name_key as a DuckDB expression over the SQL expression `expr` (NULL when nothing is left)."""
    folded = f"replace(lower(strip_accents(cast({expr} as varchar))), '.', '')"
    spaced = f"regexp_replace({folded}, '[^a-z0-9 ]+', ' ', 'g')"
    bare = f"regexp_replace(regexp_replace({spaced}, '{_LEGAL_PATTERN}', ' ', 'g'), '[^a-z0-9]+', '', 'g')"
    return f"nullif({bare}, '')"
