"""Great Expectations is imported only when a suite is built: importing it takes seconds, and every
process that loads the Dagster definitions (each `cdw` command, the code server, the tests)
imports every suite module. Validation itself is covered by tests/test_quality_gate.py.

Each check runs in a fresh interpreter: this test process may already have imported GX.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

LOAD_THEN_BUILD = """
import json, sys
from datetime import datetime

import orchestration.definitions
from data_quality.runner import GateContext, call_with_gate
from data_quality.suites import suite_modules

out = {"gx_after_definitions": "great_expectations" in sys.modules}
gate = GateContext("t", "c", datetime(2024, 1, 1), None, None)
for m in suite_modules():  # what the checks, the CLI and the runner read before any validation
    m.TABLE, getattr(m, "SEVERITY", None), getattr(m, "TRACK_VOLUME", None)
    getattr(m, "PII_COLUMNS", None), getattr(m, "SAMPLE_KEYS", None)
    for fn in (getattr(m, "query", None), getattr(m, "samples", None)):
        if fn:
            call_with_gate(fn, gate)
out["gx_after_reading_suites"] = "great_expectations" in sys.modules

import great_expectations as gx
gx.get_context(mode="ephemeral")  # suites are built while a context is active (as in the runner)
built = {m.__name__: m.build_suite() for m in suite_modules()}
out["not_a_suite"] = [name for name, s in built.items() if not isinstance(s, gx.ExpectationSuite)]
out["empty"] = [name for name, s in built.items() if not s.expectations]
out["built"] = len(built)
print("RESULT " + json.dumps(out))
"""


def _run(code: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=600)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-5000:]
    return json.loads(lines[-1][len("RESULT "):])


def test_loading_definitions_and_reading_suites_does_not_import_gx_but_building_them_works():
    out = _run(LOAD_THEN_BUILD)
    assert out["gx_after_definitions"] is False, "a module imports great_expectations at its top level"
    assert out["gx_after_reading_suites"] is False, "reading a suite's constants/query/samples imported GX"
    assert out["built"] >= 16 and out["not_a_suite"] == [] and out["empty"] == [], out
