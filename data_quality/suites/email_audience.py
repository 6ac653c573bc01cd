"""marts.email_audience: the people the email export sends to (consented, valid email)."""

from data_quality.metrics import EMAIL_REGEX

TABLE = "marts.email_audience"
SEVERITY = "ERROR"
# only these can grant email-marketing consent (int_consent_events): without them nobody may be mailed
SOURCES = ("email_members", "web_events")
TRACK_VOLUME = True
PII_COLUMNS = {"email", "first_name", "last_name"}
SAMPLE_KEYS = ["customer_id"]
MAX_NAME_LENGTH = 200


def build_suite():
    import great_expectations as gx  # here, not at the top: loading the definitions must not pay for GX
    import great_expectations.expectations as gxe

    suite = gx.ExpectationSuite(name="email_audience")
    # segment size: an empty audience or one holding every customer is a broken consent join
    suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1))
    suite.add_expectation(gxe.ExpectColumnMaxToBeBetween(column="audience_share", min_value=0, max_value=0.99))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="customer_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="customer_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="email"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="email"))
    suite.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_REGEX))
    # a name longer than this is a broken export or an injection attempt, not a name
    suite.add_expectation(gxe.ExpectColumnValueLengthsToBeBetween(column="first_name", min_value=1, max_value=MAX_NAME_LENGTH))
    suite.add_expectation(gxe.ExpectColumnValueLengthsToBeBetween(column="last_name", min_value=1, max_value=MAX_NAME_LENGTH))
    # referential integrity and consent: every audience member is a customer who consented
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="is_customer", value_set=[True]))
    suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(column="has_consent", value_set=[True]))
    return suite


def query() -> str:
    return """
SELECT a.customer_id, a.email, a.first_name, a.last_name,
       c.customer_id IS NOT NULL AS is_customer, coalesce(c.email_marketing_consent, false) AS has_consent,
       count(*) OVER () / greatest((SELECT count(*) FROM marts.customers), 1) AS audience_share
FROM marts.email_audience a LEFT JOIN marts.customers c ON c.customer_id = a.customer_id"""
