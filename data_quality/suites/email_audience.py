"""marts.email_audience: the people the email export sends to (consented, valid email)."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.email_audience"
SEVERITY = "ERROR"
PII_COLUMNS = {"email", "first_name", "last_name"}
MAX_NAME_LENGTH = 200
EMAIL_REGEX = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def build_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="email_audience")
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="customer_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="customer_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="email"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="email"))
    suite.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_REGEX))
    # a name longer than this is a broken export or an injection attempt, not a name
    suite.add_expectation(gxe.ExpectColumnValueLengthsToBeBetween(column="first_name", min_value=1, max_value=MAX_NAME_LENGTH))
    suite.add_expectation(gxe.ExpectColumnValueLengthsToBeBetween(column="last_name", min_value=1, max_value=MAX_NAME_LENGTH))
    return suite
