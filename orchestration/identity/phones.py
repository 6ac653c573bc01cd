"""Moved: phone normalization lives in orchestration/identifiers/phone.py (one module per
identifier kind). These names stay importable from here for the dbt-duckdb plugin."""

from orchestration.identifiers.phone import DEFAULT_REGION, UDF_NAME, register_udfs, to_e164, to_e164_arrow

__all__ = ["DEFAULT_REGION", "UDF_NAME", "register_udfs", "to_e164", "to_e164_arrow"]
