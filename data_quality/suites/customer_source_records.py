"""marts.customer_source_records: identity resolution - every source record mapped to exactly one
existing customer, and no customer glued together from an absurd number of records."""

from data_quality import config
from data_quality.metrics import zero_suite

TABLE = "marts.customer_source_records"
SEVERITY = "ERROR"
SOURCES = ("crm_contacts", "email_members", "web_events")  # the identity sources: no person without one
TRACK_VOLUME = True

RECORDS = "intermediate.int_identity_records"


def build_suite():
    return zero_suite(
        "identity",
        ["unmapped_records", "records_mapped_more_than_once", "mapped_records_unknown", "records_without_customer",
         "customers_without_records", "record_count_mismatch"],
        max_records_per_customer=(1, config.max_records_per_customer()),
    )


def query():
    return f"""
WITH mapped AS (SELECT record_key, count(*) AS n FROM {TABLE} GROUP BY 1),
     sizes AS (SELECT customer_id, count(*) AS n, any_value(customer_record_count) AS said FROM {TABLE} GROUP BY 1)
SELECT
    (SELECT count(*) FROM {TABLE}) AS row_count,
    (SELECT count(*) FROM {RECORDS} r WHERE NOT EXISTS (SELECT 1 FROM mapped m WHERE m.record_key = r.record_key)) AS unmapped_records,
    (SELECT count(*) FROM mapped WHERE n > 1) AS records_mapped_more_than_once,
    (SELECT count(*) FROM mapped m WHERE NOT EXISTS (SELECT 1 FROM {RECORDS} r WHERE r.record_key = m.record_key)) AS mapped_records_unknown,
    (SELECT count(*) FROM sizes s WHERE NOT EXISTS (SELECT 1 FROM marts.customers c WHERE c.customer_id = s.customer_id)) AS records_without_customer,
    (SELECT count(*) FROM marts.customers c WHERE NOT EXISTS (SELECT 1 FROM sizes s WHERE s.customer_id = c.customer_id)) AS customers_without_records,
    (SELECT count(*) FROM sizes WHERE n <> said) AS record_count_mismatch,
    (SELECT coalesce(max(n), 1) FROM sizes) AS max_records_per_customer"""


def samples():
    return {
        "unmapped_records": f"SELECT source, source_record_id FROM {RECORDS} r WHERE record_key NOT IN (SELECT record_key FROM {TABLE})",
        "records_mapped_more_than_once": f"SELECT record_key, count(*) AS customers FROM {TABLE} GROUP BY 1 HAVING count(*) > 1",
        "mapped_records_unknown": f"SELECT record_key, customer_id FROM {TABLE} WHERE record_key NOT IN (SELECT record_key FROM {RECORDS})",
        "records_without_customer": f"SELECT record_key, customer_id FROM {TABLE} WHERE customer_id NOT IN (SELECT customer_id FROM marts.customers)",
        "customers_without_records": f"SELECT customer_id FROM marts.customers WHERE customer_id NOT IN (SELECT customer_id FROM {TABLE})",
        "record_count_mismatch": f"SELECT customer_id, count(*) AS records, any_value(customer_record_count) AS said FROM {TABLE} GROUP BY 1 HAVING count(*) <> any_value(customer_record_count)",
        "max_records_per_customer": f"SELECT customer_id, count(*) AS records, string_agg(DISTINCT source, '+') AS sources FROM {TABLE} GROUP BY 1 ORDER BY 2 DESC",
    }
