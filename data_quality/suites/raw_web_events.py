"""raw.web_events: the source contract (orchestration/sources.yml), the quarantine rate of each delivery, freshness."""

from data_quality.raw_contract import RawSuite

_RAW = RawSuite("web_events")
TABLE = _RAW.table
SEVERITY = "ERROR"
build_suite = _RAW.build_suite
query = _RAW.query
samples = _RAW.samples
