"""marts.customer_rfm: RFM scores and segment per customer (the segments audiences are cut from)."""

TABLE = "marts.customer_rfm"
SEVERITY = "ERROR"
SOURCES = ("crm_contacts", "email_members", "web_events")  # the identity sources: no person without one
TRACK_VOLUME = True
SAMPLE_KEYS = ["customer_id"]
MAX_SEGMENT_SHARE = 0.9  # one segment holding (nearly) everyone with activity means the scoring broke
MIN_SCORED_FOR_SHARE = 50  # fewer customers with activity than this: a share says nothing (too few to spread)


def build_suite():
    import great_expectations as gx  # here, not at the top: loading the definitions must not pay for GX
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name="customer_rfm")
    suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="customer_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="customer_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="is_customer", value_set=[True]))
    for col in ("r_score", "f_score", "m_score"):
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=col, min_value=1, max_value=5))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="recency_days", min_value=0))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="frequency", min_value=0))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="monetary", min_value=0))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="rfm_segment"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="segment_share", max_value=MAX_SEGMENT_SHARE))
    return suite


def query() -> str:
    # segment_share: a segment's share of the customers with activity to score, judged only when
    # there are MIN_SCORED_FOR_SHARE of them. Customers without any activity (no web, email or
    # deal data for them, e.g. only a CRM export delivered) all share the lowest scores by right:
    # their common segment says nothing about the scoring.
    return f"""
SELECT r.customer_id, r.r_score, r.f_score, r.m_score, r.recency_days, r.frequency, r.monetary, r.rfm_segment,
       c.customer_id IS NOT NULL AS is_customer,
       CASE WHEN r.frequency > 0 AND count(*) FILTER (WHERE r.frequency > 0) OVER () >= {MIN_SCORED_FOR_SHARE}
            THEN count(*) FILTER (WHERE r.frequency > 0) OVER (PARTITION BY r.rfm_segment)
                 / count(*) FILTER (WHERE r.frequency > 0) OVER () END AS segment_share
FROM marts.customer_rfm r LEFT JOIN marts.customers c ON c.customer_id = r.customer_id"""
