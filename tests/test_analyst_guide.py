"""The analyst guide's SQL gives the right answers on hand-made rows whose answers are worked out by
hand, runs on the demo warehouse, and both query tools (cdw sql, the plain duckdb CLI) open it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
from test_marts_analytics import wh  # noqa: F401  (the hand-made warehouse: a fixture)

REPO = Path(__file__).resolve().parent.parent
GUIDE = REPO / "docs" / "analysts.md"
BIN = Path(sys.executable).parent


def guide_queries() -> list[str]:
    return re.findall(r"```sql\n(.*?)```", GUIDE.read_text(), flags=re.S)


def guide_query(question: int) -> str:
    """The first SQL block under '### <question>. ...'."""
    section = re.split(r"^### \d+\. ", GUIDE.read_text(), flags=re.M)[question]
    return re.search(r"```sql\n(.*?)```", section, flags=re.S).group(1)


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


def test_guide_queries_give_the_right_answers_on_known_rows(wh):  # noqa: F811 (wh: the imported fixture)
    """The guide's own SQL on the hand-made rows of test_marts_analytics (Ann, Bob and Cid bought; Dee
    has an open deal; Lea is a lead from the email list), answers worked out by hand."""
    with duckdb.connect(str(wh), read_only=True) as con:
        def answer(question: int) -> list[tuple]:
            return con.execute(guide_query(question)).fetchall()

        # 1. stages now, and the median days from lead to customer: Ann 2024-01-10 -> 03-15 (65 days) and
        # Bob 02-01 -> 04-10 (69) are customers; Cid (2023-05-01 -> 06-10, 40 days) churned after his
        # one-month contract; Dee has an open deal; Lea is marketing qualified
        stages = {stage: (people, days and float(days)) for stage, people, days in answer(1)}
        assert stages == {"mql": (1, None), "opportunity": (1, None), "customer": (2, 67.0), "churned": (1, 40.0)}
        # 2. the funnel is cumulative: every deal makes an SQL and an opportunity (and an MQL)
        assert [tuple(float(v) for v in answer(2)[0])] == [(5.0, 5.0, 4.0, 4.0, 3.0, 0.6)]
        # 5. only Ann's deal (1,000.00) had campaign touches: email 'spring' 14 days before the close,
        # ad 'brand' 7 days before, ad 'abm' 1 day before
        credited = {(model, campaign): float(revenue) for model, campaign, _, revenue, _ in answer(5)}
        assert credited == {
            ("first_touch", "spring"): 1000.0, ("first_touch", "brand"): 0.0, ("first_touch", "abm"): 0.0,
            ("last_touch", "spring"): 0.0, ("last_touch", "brand"): 0.0, ("last_touch", "abm"): 1000.0,
            ("linear", "spring"): 333.34, ("linear", "brand"): 333.33, ("linear", "abm"): 333.33,
            ("position_based", "spring"): 400.0, ("position_based", "brand"): 200.0, ("position_based", "abm"): 400.0,
            ("time_decay", "spring"): 150.99, ("time_decay", "brand"): 301.98, ("time_decay", "abm"): 547.03,
        }
        # 6. the one paid campaign with spend: 'brand', 250.00 on Google Ads, 333.33 credited (linear)
        assert [(c, p, float(s), float(r), float(romi)) for c, p, s, r, romi, *_ in answer(6)] == [
            ("brand", "google_ads", 250.0, 333.33, 1.3333)]
        # 7. June 2024, the newest month: Ann's 1,000 over the default 12 months + Bob's 2,400 over 24
        month, mrr, arr, paying, arpu, new, churned, nrr, *_ = answer(7)[0]
        assert (str(month), float(mrr), float(arr), paying, float(arpu), float(new), float(churned), float(nrr)) == (
            "2024-06-01", 183.33, 2200.0, 2, 91.67, 0.0, 0.0, 1.0)
