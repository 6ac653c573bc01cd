"""Helpers for pushed-down suites: DuckDB computes one row of metrics, GX bounds each one."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # GX takes seconds to import: only building a suite imports it
    import great_expectations as gx

EMAIL_REGEX = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
E164_REGEX = r"^\+[1-9][0-9]{6,14}$"


def zero_suite(name: str, metrics: list[str], **bounds: tuple[float | None, float | None]) -> gx.ExpectationSuite:
    """A suite expecting each metric in `metrics` to be 0 and each metric in `bounds` in (min, max)."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name=name)
    for m in metrics:
        suite.add_expectation(gxe.ExpectColumnMaxToBeBetween(column=m, max_value=0))
    for m, (lo, hi) in bounds.items():
        suite.add_expectation(gxe.ExpectColumnMaxToBeBetween(column=m, min_value=lo, max_value=hi))
    return suite


def count_where(conditions: dict[str, str]) -> str:
    """`count(*) FILTER (WHERE cond) AS metric, ...` for a SELECT over one table."""
    return ",\n       ".join(f'count(*) FILTER (WHERE {cond}) AS "{name}"' for name, cond in conditions.items())


def bad_format(column: str, regex: str) -> str:
    return f"{column} IS NOT NULL AND NOT regexp_full_match({column}, '{regex}')"
