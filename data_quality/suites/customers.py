"""marts.customers: the golden record every export and analyst query starts from."""

import great_expectations as gx
import great_expectations.expectations as gxe

TABLE = "marts.customers"
SEVERITY = "ERROR"
PII_COLUMNS = {"email", "phone", "first_name", "last_name"}
MAX_NAME_LENGTH = 200
EMAIL_REGEX = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
E164_REGEX = r"^\+[1-9][0-9]{6,14}$"


def build_suite() -> gx.ExpectationSuite:
    suite = gx.ExpectationSuite(name="customers")
    suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1))
    suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column="customer_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToBeUnique(column="customer_id"))
    suite.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column="customer_id", regex=r"^cus_[0-9a-f]{16}$"))
    suite.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column="email", regex=EMAIL_REGEX))
    suite.add_expectation(gxe.ExpectColumnValuesToMatchRegex(column="phone", regex=E164_REGEX))
    # a "person" glued from hundreds of records is an identity-resolution failure
    suite.add_expectation(gxe.ExpectColumnValuesToBeBetween(column="source_record_count", min_value=1, max_value=50))
    # a name longer than this is a broken export or an injection attempt, not a name
    suite.add_expectation(gxe.ExpectColumnValueLengthsToBeBetween(column="first_name", min_value=1, max_value=MAX_NAME_LENGTH))
    suite.add_expectation(gxe.ExpectColumnValueLengthsToBeBetween(column="last_name", min_value=1, max_value=MAX_NAME_LENGTH))
    return suite
