"""marts.accounts: one row per company, with its people and deals."""

TABLE = "marts.accounts"
SEVERITY = "ERROR"
SOURCES = ("crm_companies", "crm_contacts", "email_members", "web_events")  # CRM companies, people's domains
TRACK_VOLUME = True
SAMPLE_KEYS = ["account_id"]


def build_suite():
    import great_expectations as gx  # here, not at the top: loading the definitions must not pay for GX
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name="accounts")
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="account_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="account_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column="account_id", regex=r"^acc_[0-9a-f]{16}$"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="crm_company_id"))
    for col in ("employees", "annual_revenue", "people_count", "open_deal_count", "open_deal_amount",
                "won_deal_count", "won_deal_amount"):
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=col, min_value=0))
    # people are linked either by the CRM company or by email domain, never both: counts add up
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="people_counts_add_up", value_set=[True]))
    # referential integrity between marts: people_count is the customers pointing at the account
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="people_count_matches_customers", value_set=[True]))
    return suite


def query() -> str:
    return """
WITH linked AS (SELECT account_id, count(*) AS n FROM marts.customers WHERE account_id IS NOT NULL GROUP BY 1)
SELECT a.account_id, a.crm_company_id, a.employees, a.annual_revenue, a.people_count, a.open_deal_count,
       a.open_deal_amount, a.won_deal_count, a.won_deal_amount,
       coalesce(a.people_count, 0) = coalesce(a.people_linked_by_crm_count, 0) + coalesce(a.people_linked_by_domain_count, 0)
           AS people_counts_add_up,
       coalesce(a.people_count, 0) = coalesce(l.n, 0) AS people_count_matches_customers
FROM marts.accounts a LEFT JOIN linked l USING (account_id)"""
