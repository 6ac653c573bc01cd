"""Great Expectations suites (as code) and the runner that validates warehouse tables with them.

One module per checked table in `data_quality/suites/`; each defines
  TABLE = "<schema>.<table>"       the warehouse table it checks
  SEVERITY = "ERROR" | "WARN"      ERROR blocks everything downstream of the table
  def build_suite() -> great_expectations.ExpectationSuite
Adding a check is adding (or editing) one such module: Dagster picks it up as a blocking asset check.
"""
