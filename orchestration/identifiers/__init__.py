"""Identifier normalization: one module per identifier kind, used by every part of the project
that reads, links, hashes, erases or explains identifiers (dbt's staging through the DuckDB
function of `phone`, identity, erasure, exports, `cdw explain`).

  email    trim + lower, the validity rule staging applies, the Gmail match key
  phone    E.164 by libphonenumber (valid numbers only)
  country  country spellings to ISO 3166-1 alpha-2 (the region national phone numbers are read in)

Where dbt applies the same rule in SQL (macros normalize_email.sql, normalize_phone.sql), the
Python form is the reference and tests/test_identifier_normalization.py proves both agree on
one table of cases.
"""
