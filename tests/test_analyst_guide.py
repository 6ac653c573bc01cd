"""The analyst guide's SQL runs against the demo warehouse, and both query tools (cdw sql, the plain
duckdb CLI) open the warehouse while no run holds the write lock."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
GUIDE = REPO / "docs" / "analysts.md"
BIN = Path(sys.executable).parent


def guide_queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", GUIDE.read_text(), flags=re.S)


def test_guide_answers_ten_questions():
    questions = re.findall(r"^### (\d+)\. ", GUIDE.read_text(), flags=re.M)
    assert [int(q) for q in questions] == list(range(1, 11))
    assert len(guide_queries()) >= 10


def test_every_guide_query_runs_on_the_demo_warehouse(demo):
    with duckdb.connect(str(demo.warehouse), read_only=True) as con:
        for sql in guide_queries():
            rows = con.execute(sql).fetchall()
            assert rows, f"no rows from:\n{sql}"


def test_demo_marts_have_rows_and_attribution_adds_up(demo):
    for table in ("deals", "web_sessions", "marketing_touches", "customer_lifecycle", "lead_scores",
                  "account_engagement", "cohort_retention", "revenue_kpis_monthly", "customer_360",
                  "campaign_performance", "segment_memberships"):
        assert demo.sql(f"SELECT count(*) FROM marts.{table}")[0][0] > 0, table
    bad = demo.sql("SELECT deal_id, attribution_model FROM marts.attribution_credits GROUP BY 1, 2"
                   " HAVING sum(credit_cents) <> round(max(deal_amount) * 100)")
    assert bad == []
    # every identified visitor's sessions carry the person, before and after the identify call
    assert demo.sql("SELECT count(*) FROM marts.web_sessions s JOIN marts.customer_source_records r"
                    " ON r.source = 'web_visitors' AND r.source_record_id = s.visitor_id"
                    " WHERE s.customer_id IS DISTINCT FROM r.customer_id") == [(0,)]


def test_cdw_sql_and_duckdb_cli_read_the_warehouse(demo):
    env = {**os.environ, "CDW_HOME": str(demo.home)}
    expected = demo.sql("SELECT count(*) FROM marts.deals")[0][0]
    cdw = subprocess.run([str(BIN / "cdw"), "sql", "SELECT count(*) AS n FROM marts.deals"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert cdw.returncode == 0, cdw.stderr
    assert str(expected) in cdw.stdout
    cli = subprocess.run([str(BIN / "duckdb"), "-readonly", "-csv", str(demo.warehouse),
                          "-c", "SELECT count(*) AS n FROM marts.deals"],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.split() == ["n", str(expected)]


def test_cdw_sql_reports_a_bad_query_without_traceback(demo):
    env = {**os.environ, "CDW_HOME": str(demo.home)}
    out = subprocess.run([str(BIN / "cdw"), "sql", "SELECT nope FROM marts.deals"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "cdw: error:" in out.stderr and "Traceback" not in out.stderr
