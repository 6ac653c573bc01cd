"""Analytics marts on hand-made raw rows where every answer is known: attribution to the cent,
lifecycle history, lead score, RFM, cohort matrix, an MRR / NRR month.

The raw tables are written in the shape the extract step produces (tests/dbt_fixtures.py) and
`dbt build` runs with analytics_as_of_date = 2024-06-30, so recency weights are exact.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from dbt_fixtures import DBT_PROJECT, dbt_build, write_raw
from dbt_fixtures import customer_of as customer
from dbt_fixtures import query as q

AS_OF = "2024-06-30"
AS_OF_VARS = {"analytics_as_of_date": AS_OF, "rfm_as_of_date": AS_OF}


def contact(id_, first, last, email, created, modified, stage, company="", title="", country="US"):
    return dict(hs_object_id=str(id_), firstname=first, lastname=last, email=email, country=country,
                associatedcompanyid=str(company), createdate=created, lastmodifieddate=modified,
                lifecyclestage=stage, hs_email_optout="false", jobtitle=title)


def deal(id_, stage, amount, created, closed, contact_id, company="", term=""):
    return dict(hs_object_id=str(id_), dealname=f"deal {id_}", pipeline="default", dealstage=stage, amount=amount,
                createdate=created, closedate=closed, lastmodifieddate=created,
                associated_contact_id=str(contact_id), associated_company_id=str(company), contract_term_months=term)


def web(mid, type_, anon, ts, path="/", event=None, email=None, campaign=None, properties=None):
    msg = {"messageId": mid, "type": type_, "anonymousId": anon, "timestamp": ts, "context": {"page": {"path": path}}}
    if campaign:
        msg["context"]["campaign"] = dict(zip(("source", "medium", "name"), campaign))
        msg["context"]["page"]["referrer"] = "https://www.google.com/"
    if event:
        msg["event"] = event
    if email:
        msg["traits"] = {"email": email}
    if properties:
        msg["properties"] = properties
    return {"payload": json.dumps(msg)}


def consent(mid, anon, ts, **purposes):
    """A Segment "Consent Updated" track event granting (True) / withdrawing (False) purposes."""
    return web(mid, "track", anon, ts, event="Consent Updated", properties={"purposes": purposes})


RAW = {
    "crm_companies": [
        dict(hs_object_id="100", name="Acme", domain="acme.com", industry="COMPUTER_SOFTWARE", numberofemployees="120",
             country="US", createdate="2023-01-01T00:00:00Z", lastmodifieddate="2023-01-01T00:00:00Z"),
        dict(hs_object_id="101", name="Beta", domain="beta.io", industry="RETAIL", numberofemployees="8",
             country="FR", createdate="2023-01-01T00:00:00Z", lastmodifieddate="2023-01-01T00:00:00Z"),
    ],
    "crm_contacts": [
        # Ann: CEO at Acme, a customer since her deal of 2024-03-15
        contact(1, "Ann", "Able", "ann@acme.com", "2024-01-10T00:00:00Z", "2024-05-01T00:00:00Z", "customer", 100, "CEO"),
        contact(2, "Bob", "Best", "bob@beta.io", "2024-02-01T00:00:00Z", "2024-04-20T00:00:00Z", "opportunity", 101, "Buyer"),
        # Cid: bought a one-month contract in June 2023
        contact(3, "Cid", "Cole", "cid@cole.net", "2023-05-01T00:00:00Z", "2023-06-10T00:00:00Z", "customer"),
        # Dee: subscribed to emails, refused ads on the web, an open deal since June
        contact(4, "Dee", "Dunn", "dee@dunn.dev", "2024-06-01T00:00:00Z", "2024-06-20T00:00:00Z", "opportunity"),
    ],
    # contract terms: Ann's deal has none (the default, 12 months), Bob's runs 24 months, Cid's one
    "crm_deals": [
        deal(11, "closedwon", "1000.00", "2024-02-01T00:00:00Z", "2024-03-15T10:00:00Z", 1, 100),
        deal(12, "closedwon", "2400.00", "2024-03-01T00:00:00Z", "2024-04-10T00:00:00Z", 2, 101, term="24"),
        deal(13, "closedlost", "900.00", "2024-03-15T00:00:00Z", "2024-04-20T00:00:00Z", 2, 101, term="twelve"),
        deal(14, "contractsent", "5000.00", "2024-04-01T00:00:00Z", "2024-07-01T00:00:00Z", 2, 101, term="36"),
        deal(15, "closedwon", "600.00", "2023-05-01T00:00:00Z", "2023-06-10T00:00:00Z", 3, term="1"),
        deal(16, "qualifiedtobuy", "700.00", "2024-06-20T00:00:00Z", "2024-08-01T00:00:00Z", 4),
    ],
    "email_members": [
        dict(member_id="m1", list_id="l1", email_address="ann@acme.com", status="subscribed",
             timestamp_opt="2024-01-05T00:00:00Z", last_changed="2024-01-05T00:00:00Z"),
        dict(member_id="m5", list_id="l1", email_address="lea@lead.org", status="subscribed",
             timestamp_opt="2024-05-01T00:00:00Z", last_changed="2024-05-01T00:00:00Z"),
        dict(member_id="m6", list_id="l1", email_address="dee@dunn.dev", status="subscribed",
             timestamp_opt="2024-06-01T00:00:00Z", last_changed="2024-06-01T00:00:00Z"),
    ],
    "email_campaigns": [dict(campaign_id="c1", list_id="l1", name="Spring", send_time="2024-03-01T09:00:00Z",
                             utm_campaign="spring")],
    "email_events": [
        dict(event_id="e1", campaign_id="c1", member_id="m1", event_type="send", timestamp="2024-03-01T09:00:00Z"),
        dict(event_id="e2", campaign_id="c1", member_id="m1", event_type="click", timestamp="2024-03-01T10:00:00Z"),
        dict(event_id="e3", campaign_id="c1", member_id="m5", event_type="open", timestamp="2024-06-30T08:00:00Z"),
    ],
    "ad_spend": [
        dict(date="2024-03-08", platform="google_ads", campaign_id="g1", campaign_name="Brand", utm_source="google",
             utm_medium="cpc", utm_campaign="brand", spend="250.00", impressions="1000", clicks="20"),
    ],
    "web_events": [
        # Ann: anonymous ad visit (identified later in the session), then a LinkedIn ad visit
        web("a1", "page", "anon-a", "2024-03-08T10:00:00Z", "/pricing", campaign=("google", "cpc", "brand")),
        web("a2", "identify", "anon-a", "2024-03-08T10:05:00Z", "/pricing", email="ann@acme.com"),
        web("a3", "track", "anon-a", "2024-03-08T10:06:00Z", "/demo", event="Demo Requested"),
        web("a4", "page", "anon-a", "2024-03-14T10:00:00Z", "/", campaign=("linkedin", "paid_social", "abm")),
        # after the close: never credited
        web("a5", "page", "anon-a", "2024-03-20T10:00:00Z", "/", campaign=("google", "cpc", "brand")),
        # Lea: two visit days two weeks apart, then a demo request on the as-of day
        web("l1", "page", "anon-l", "2024-06-16T10:00:00Z", "/pricing"),
        web("l2", "identify", "anon-l", "2024-06-16T10:00:30Z", "/pricing", email="lea@lead.org"),
        web("l3", "page", "anon-l", "2024-06-30T10:00:00Z", "/pricing"),
        web("l4", "track", "anon-l", "2024-06-30T10:01:00Z", "/demo", event="Demo Requested"),
        # 31 minutes later: a new session
        web("l5", "page", "anon-l", "2024-06-30T10:32:00Z", "/blog"),
        # Bob: ads yes, analytics no, nothing said about email (he is no email member)
        web("b1", "identify", "anon-b", "2024-04-01T09:00:00Z", email="bob@beta.io"),
        consent("b2", "anon-b", "2024-04-01T09:01:00Z", ads=True, analytics=False),
        # Dee: no ads
        web("d1", "identify", "anon-d", "2024-06-02T09:00:00Z", email="dee@dunn.dev"),
        consent("d2", "anon-d", "2024-06-02T09:01:00Z", ads=False),
        # a visitor who never identifies
        web("x1", "page", "anon-x", "2024-06-01T10:00:00Z", "/"),
    ],
}


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("marts")
    warehouse = tmp / "warehouse.duckdb"
    write_raw(warehouse, RAW, loaded_at="2024-07-01 00:00:00")
    result = dbt_build(tmp, warehouse, AS_OF_VARS)
    assert result.returncode == 0, result.stdout[-6000:]
    return warehouse


def test_deals_status_cycle_and_owner(wh):
    rows = dict((r[0], r[1:]) for r in q(wh, "SELECT deal_id, deal_status, cycle_days, customer_id, closed_at IS NULL,"
                                             " expected_close_at IS NULL FROM marts.deals"))
    assert rows[11][:2] == ("won", 43) and rows[11][2] == customer(wh, "crm_contacts:1")
    assert rows[13][:2] == ("lost", 36)
    assert rows[14][:2] == ("open", None) and rows[14][3:] == (True, False)


def test_web_sessions_split_on_inactivity_and_attribute_anonymous_pages(wh):
    lea = customer(wh, "web_visitors:anon-l")
    sessions = q(wh, "SELECT landing_page_path, page_view_count, event_count, duration_seconds, customer_id"
                     " FROM marts.web_sessions WHERE visitor_id = 'anon-l' ORDER BY started_at")
    # 2024-06-16 (2 events), 2024-06-30 10:00-10:01 (2 events), 10:32 after 31 idle minutes
    assert [(s[0], s[1], s[2], s[3]) for s in sessions] == [("/pricing", 1, 2, 30.0), ("/pricing", 1, 2, 60.0),
                                                            ("/blog", 1, 1, 0.0)]
    assert {s[4] for s in sessions} == {lea}
    # the page viewed before the identify call belongs to Ann as well
    ann_first = q(wh, "SELECT customer_id, utm_campaign, channel FROM marts.web_sessions"
                      " WHERE visitor_id = 'anon-a' AND visitor_session_number = 1")
    assert ann_first == [(customer(wh, "crm_contacts:1"), "brand", "paid_search")]
    assert q(wh, "SELECT customer_id FROM marts.web_sessions WHERE visitor_id = 'anon-x'") == [(None,)]


def test_marketing_touches(wh):
    ann = customer(wh, "crm_contacts:1")
    touches = q(wh, "SELECT touch_type, campaign, channel FROM marts.marketing_touches WHERE customer_id = ?"
                    " ORDER BY touched_at, touch_type", [ann])
    assert touches == [("email_send", "spring", "email"), ("email_click", "spring", "email"),
                       ("paid_session", "brand", "paid_search"), ("paid_session", "abm", "paid_social"),
                       ("paid_session", "brand", "paid_search")]


def test_attribution_journey_to_the_cent(wh):
    rows = q(wh, "SELECT attribution_model, touch_position, campaign, credit_cents FROM marts.attribution_credits"
                 " WHERE deal_id = 11 ORDER BY attribution_model, touch_position")
    credits: dict[str, list[int]] = {}
    for model, _pos, _campaign, cents in rows:
        credits.setdefault(model, []).append(cents)
    assert [r[2] for r in rows if r[0] == "linear"] == ["spring", "brand", "abm"]  # the post-close visit is out
    # touches 14 d 0 h, 7 d 0 h and 1 d 0 h before the close at 2024-03-15 10:00
    assert credits["first_touch"] == [100000, 0, 0]
    assert credits["last_touch"] == [0, 0, 100000]
    assert credits["linear"] == [33334, 33333, 33333]
    assert credits["position_based"] == [40000, 20000, 40000]
    # time decay, half-life 7 days: weights 0.5^2 = 0.25, 0.5^1 = 0.5, 0.5^(1/7) = 0.905724 (sum 1.655724)
    # -> 15099.16, 30198.33, 54702.51 cents; the cent left by the floors goes to the largest remainder
    assert credits["time_decay"] == [15099, 30198, 54703]
    assert all(sum(c) == 100000 for c in credits.values())
    # Bob and Cid had no campaign touch: their deals are not attributed
    assert q(wh, "SELECT DISTINCT deal_id FROM marts.attribution_credits") == [(11,)]
    perf = q(wh, "SELECT attributed_revenue, ad_spend, romi FROM marts.campaign_performance"
                 " WHERE campaign = 'brand' AND attribution_model = 'linear'")
    # ROMI = attributed revenue / spend = 333.33 / 250 = 1.33332 -> 1.3333 (4 places)
    assert [(float(a), float(s), r) for a, s, r in perf] == [(333.33, 250.0, 1.3333)]


def test_lifecycle_history(wh):
    cols = "lifecycle_stage, subscriber_at, lead_at, mql_at, sql_at, opportunity_at, customer_at, churned_at"
    ann = q(wh, f"SELECT {cols} FROM marts.customer_lifecycle WHERE customer_id = ?", [customer(wh, "crm_contacts:1")])[0]
    d = datetime.fromisoformat
    # CRM contact created 01-10 (lead); deal opened 02-01 makes her SQL, opportunity - and MQL, since the
    # funnel is cumulative (her demo request of 03-08 came later); won 03-15
    assert ann == ("customer", d("2024-01-05"), d("2024-01-10"), d("2024-02-01"), d("2024-02-01"), d("2024-02-01"),
                   d("2024-03-15 10:00"), None)
    cid = q(wh, f"SELECT {cols} FROM marts.customer_lifecycle WHERE customer_id = ?", [customer(wh, "crm_contacts:3")])[0]
    # his one-month contract ran in June 2023: churned on the first day after it
    assert cid[0] == "churned" and cid[6] == d("2023-06-10") and cid[7] == d("2023-07-01")
    lea = q(wh, f"SELECT {cols} FROM marts.customer_lifecycle WHERE customer_id = ?", [customer(wh, "email_members:m5")])[0]
    assert lea[:4] == ("mql", d("2024-05-01"), d("2024-06-16 10:00:30"), d("2024-06-30 10:01"))
    assert lea[4:] == (None, None, None, None)


def test_lead_score(wh):
    lea = q(wh, "SELECT fit_points, engagement_points, intent_points, engagement_score, intent_score, lead_score,"
                " is_marketing_qualified FROM marts.lead_scores WHERE customer_id = ?", [customer(wh, "email_members:m5")])[0]
    # engagement: page 06-30 (1) + track 06-30 (1) + page 06-30 10:32 (1) + open 06-30 (2) + page 06-16 (1 * 0.5)
    # intent: pricing 06-30 (5) + demo request (20) + second visit day (3) + pricing 06-16 (5 * 0.5)
    assert lea[:3] == (0.0, 5.5, 30.5)
    # scores: points of a 40-point cap per category (seed lead_scoring_categories): 5.5 / 40, 30.5 / 40;
    # lead score: fit 0 x 0.4 + engagement 13.75 x 0.3 + intent 76.25 x 0.3
    assert lea[3:6] == (13.75, 76.25, 27.0)
    assert lea[6] is False
    ann = q(wh, "SELECT seniority, seniority_points, icp_points, fit_score FROM marts.lead_scores WHERE customer_id = ?",
            [customer(wh, "crm_contacts:1")])[0]
    # CEO 30 + COMPUTER_SOFTWARE 25 + 51-200 employees 20 + US 10 = 85, capped at 80
    assert ann == ("c_level", 30.0, 55.0, 100.0)


def test_rfm_case(wh):
    rows = {r[0]: r[1:] for r in q(wh, "SELECT customer_id, recency_days, frequency, monetary, r_score, f_score,"
                                        " m_score, rfm_segment FROM marts.customer_rfm")}
    got = {name: (rows[customer(wh, key)][0], rows[customer(wh, key)][1], float(rows[customer(wh, key)][2]),
                  *rows[customer(wh, key)][3:])
           for name, key in (("ann", "crm_contacts:1"), ("bob", "crm_contacts:2"), ("cid", "crm_contacts:3"),
                             ("dee", "crm_contacts:4"), ("lea", "email_members:m5"))}
    # recency to 2024-06-30: last won (Ann 03-15: 107 d, Bob 04-10: 81 d, Cid 2023-06-10: 386 d), else last
    # activity (Dee's deal 06-20: 10 d, Lea's visit 06-30: 0 d); quintiles of five people, most recent 5.
    # frequency, distinct days with an opt-in, web event, email click/open, deal created or won: Ann 7 (opt-in
    # 01-05, deal 02-01, click 03-01, visits 03-08, 03-14, 03-20, won 03-15), Bob 4 (deals 03-01, 03-15,
    # 04-01 + visit, won 04-10), Cid 2, Dee 3 (opt-in 06-01, visit 06-02, deal 06-20), Lea 3 (05-01, 06-16,
    # 06-30); quintiles, equal frequencies sharing the lower score (Dee and Lea 2).
    # monetary quartiles among the three buyers: 600 -> 2, 1000 -> 3, 2400 -> 4; no revenue -> 1.
    # segment: the first rule of seeds/rfm_segments.csv (by priority) whose ranges hold the scores
    assert got == {
        "ann": (107, 7, 1000.0, 2, 5, 3, "at_risk"),             # r 1-2, f 3-5 (loyal needs r >= 3)
        "bob": (81, 4, 2400.0, 3, 4, 4, "loyal"),                # r 3-5, f 4-5 (champions need r >= 4)
        "cid": (386, 2, 600.0, 1, 1, 2, "hibernating"),          # r 1-2, f 1-2
        "dee": (10, 3, 0.0, 4, 2, 1, "potential_loyalist"),      # r 4-5, f 2-3
        "lea": (0, 3, 0.0, 5, 2, 1, "potential_loyalist"),       # r 5 and f 2: not new_customer (f 1)
    }


def test_deals_carry_their_contract_term(wh):
    rows = q(wh, "SELECT deal_id, contract_term_months, is_default_contract_term, mrr FROM marts.deals ORDER BY deal_id")
    assert [(r[0], r[1], r[2]) for r in rows] == [(11, 12, True), (12, 24, False), (13, 12, True), (14, 36, False),
                                                   (15, 1, False), (16, 12, True)]
    mrr = {r[0]: r[3] for r in rows}
    assert (round(mrr[11], 2), round(mrr[12], 2), round(mrr[15], 2)) == (83.33, 100.00, 600.00)
    assert mrr[13] is None and mrr[14] is None  # lost / open: no recurring revenue
    months = dict(q(wh, "SELECT deal_id, count(*) FROM intermediate.int_contract_months GROUP BY 1"))
    assert months == {11: 12, 12: 24, 15: 1}


def test_cohort_matrix(wh):
    rows = q(wh, "SELECT cohort_month, months_since_first_purchase, cohort_size, retained_customers, retention_rate"
                 " FROM marts.cohort_retention ORDER BY 1, 2")
    cid = [r for r in rows if str(r[0]) == "2023-06-01"]
    assert [r[1] for r in cid] == list(range(13))  # up to the as-of month 2024-06
    assert [r[3] for r in cid] == [1] + [0] * 12  # a one-month contract
    ann = [r for r in rows if str(r[0]) == "2024-03-01"]
    assert [(r[1], r[2], r[4]) for r in ann] == [(0, 1, 1.0), (1, 1, 1.0), (2, 1, 1.0), (3, 1, 1.0)]
    assert {str(r[0]) for r in rows} == {"2023-06-01", "2024-03-01", "2024-04-01"}


def test_mrr_and_nrr_month(wh):
    kpi = {str(r[0]): r[1:] for r in q(wh, "SELECT month, mrr, arr, paying_customers, arpu, new_mrr, churned_mrr, nrr,"
                                            " win_rate, open_pipeline_amount, pipeline_coverage FROM marts.revenue_kpis_monthly")}
    assert min(kpi) == "2023-05-01" and max(kpi) == "2024-06-01"  # Cid's deal created .. the as-of month
    # Cid's one-month contract: 600 of MRR in June 2023, churned in July
    june23, july23 = kpi["2023-06-01"], kpi["2023-07-01"]
    assert june23[:3] == (600.00, 7200.00, 1) and june23[4] == 600.00
    assert july23[0] == 0 and july23[5] == 600.00 and july23[6] == 0.0
    # May / June 2024: Ann 1000 / 12 (default term) + Bob 2400 / 24 = 83.33 + 100.00
    may, june, april = kpi["2024-05-01"], kpi["2024-06-01"], kpi["2024-04-01"]
    assert may[:3] == (183.33, 2200.00, 2)
    assert june[:4] == (183.33, 2200.00, 2, 91.67)
    assert (june[4], june[5], june[6]) == (0, 0, 1.0)
    # April: Bob's new 100.00 beside Ann's retained 83.33; he won 2400 and lost 900; pipeline open at the
    # end: deal 14 (5000); won Feb-Apr: 0 + 1000 + 2400
    assert april[0] == 183.33 and april[4] == 100.00 and april[6] == 1.0
    assert april[7] == 0.5
    # coverage: 5000 open / (3400 won in 3 months / 3 = 1133.33 a month) = 4.4118 -> 4.41
    assert float(april[8]) == 5000.0 and april[9] == 4.41


def test_every_consent_purpose_reaches_customers(wh):
    cols = ", ".join(f"{p}_consent, {p}_consent_status" for p in ("email_marketing", "ads", "analytics"))
    bob = q(wh, f"SELECT {cols}, ads_consent_since, ads_consent_source FROM marts.customer_360 WHERE customer_id = ?",
            [customer(wh, "crm_contacts:2")])[0]
    # ads yes, analytics withdrawn, email never asked
    assert bob == (False, "unknown", True, "granted", False, "withdrawn",
                   datetime.fromisoformat("2024-04-01 09:01"), "web.consent_updated")
    dee = q(wh, f"SELECT {cols} FROM marts.customers WHERE customer_id = ?", [customer(wh, "crm_contacts:4")])[0]
    assert dee == (True, "granted", False, "withdrawn", False, "unknown")
    # the columns are the ledger's, purpose by purpose
    assert q(wh, """SELECT count(*) FROM marts.consent_ledger l JOIN marts.customers c USING (customer_id)
                    WHERE l.has_consent <> CASE l.purpose WHEN 'email_marketing' THEN c.email_marketing_consent
                                                          WHEN 'ads' THEN c.ads_consent ELSE c.analytics_consent END""") == [(0,)]


def test_segments_enforce_the_consent_purpose_they_declare(wh):
    declared = yaml.safe_load((DBT_PROJECT / "models/marts/segments/segment_memberships.yml").read_text())
    purposes = {s["name"]: s["consent_purpose"] for s in declared["models"][0]["config"]["meta"]["segments"]}
    got = q(wh, "SELECT segment, customer_id, consent_purpose FROM marts.segment_memberships")
    assert {g[0] for g in got} <= set(purposes)
    assert all(purposes[s] == p for s, _, p in got)
    # Cid churned but has no email consent: not in the email win-back audience
    assert ("churned_winback", customer(wh, "crm_contacts:3"), "email_marketing") not in got
    # open deals: Bob (ads consent, no email consent) and Dee (email consent, ads refused) - only Bob is retargeted
    retargeted = {c for s, c, _ in got if s == "open_opportunity_retargeting"}
    assert retargeted == {customer(wh, "crm_contacts:2")}
    # every member of a segment holds the consent of its purpose
    ledger = {(c, p): ok for c, p, ok in q(wh, "SELECT customer_id, purpose, has_consent FROM marts.consent_ledger")}
    assert all(ledger[(c, p)] for _, c, p in got if p != "none")
