"""marts.customers: the golden record every export and analyst query starts from."""

from data_quality import config
from data_quality.metrics import E164_REGEX, EMAIL_REGEX

TABLE = "marts.customers"
SEVERITY = "ERROR"
SOURCES = ("crm_contacts", "email_members", "web_events")  # the identity sources: no person without one
TRACK_VOLUME = True
PII_COLUMNS = {"email", "phone", "first_name", "last_name"}
SAMPLE_KEYS = ["customer_id"]
MAX_NAME_LENGTH = 200


def build_suite():
    import great_expectations as gx  # here, not at the top: loading the definitions must not pay for GX
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name="customers")
    suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="customer_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="customer_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column="customer_id", regex=r"^cus_[0-9a-f]{16}$"))
    suite.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_REGEX))
    suite.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column="phone", regex=E164_REGEX))
    # a "person" glued from hundreds of records is an identity-resolution failure
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(
        column="source_record_count", min_value=1, max_value=config.max_records_per_customer()))
    # a name longer than this is a broken export or an injection attempt, not a name
    suite.add_expectation(gxe.ExpectColumnValueLengthsToBeBetween(column="first_name", min_value=1, max_value=MAX_NAME_LENGTH))
    suite.add_expectation(gxe.ExpectColumnValueLengthsToBeBetween(column="last_name", min_value=1, max_value=MAX_NAME_LENGTH))
    for col in ("deal_count", "won_deal_count", "web_event_count", "won_revenue"):
        suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column=col, min_value=0))
    suite.add_expectation(gxe.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="last_seen_at", column_B="first_seen_at", or_equal=True, ignore_row_if="either_value_is_missing"))
    # referential integrity: an account a customer points to exists in marts.accounts
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="account_exists", value_set=[True]))
    return suite


def query() -> str:
    return """
SELECT c.customer_id, c.email, c.phone, c.source_record_count, c.first_name, c.last_name, c.deal_count,
       c.won_deal_count, c.web_event_count, c.won_revenue, c.first_seen_at, c.last_seen_at,
       c.account_id IS NULL OR a.account_id IS NOT NULL AS account_exists
FROM marts.customers c LEFT JOIN marts.accounts a ON a.account_id = c.account_id"""
