"""Great Expectations suites (as code) and the runner that validates warehouse tables with them.

One module per checked table in `data_quality/suites/`; each defines
  TABLE = "<schema>.<table>"       the warehouse table it checks
  SEVERITY = "ERROR" | "WARN"      ERROR blocks everything downstream of the table
  def build_suite() -> great_expectations.ExpectationSuite
Adding a check is adding (or editing) one such module: Dagster picks it up as a blocking asset check.

GX is imported inside build_suite(), never at the top of a module: importing it takes seconds, and
every process that loads the Dagster definitions imports all the suites (tests/test_lazy_gx.py).
"""
