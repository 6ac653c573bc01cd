"""staging.stg_crm__contacts: one row per CRM contact, identifiers normalized (email, E.164 phones)."""

from data_quality.metrics import E164_REGEX, EMAIL_REGEX, bad_format, count_where, zero_suite

TABLE = "staging.stg_crm__contacts"
SEVERITY = "ERROR"
SOURCES = ("crm_contacts",)
TRACK_VOLUME = True
PII_COLUMNS = {"email", "email_raw", "phone_e164", "mobile_phone_e164"}

RULES = {
    "null_contact_id": "contact_id IS NULL",
    "email_bad_format": bad_format("email", EMAIL_REGEX),
    "email_not_normalized": "email <> lower(trim(email))",
    "email_without_match_key": "email IS NOT NULL AND email_match_key IS NULL",
    "phone_not_e164": bad_format("phone_e164", E164_REGEX),
    "mobile_phone_not_e164": bad_format("mobile_phone_e164", E164_REGEX),
}


def build_suite():
    return zero_suite("stg_crm__contacts", [*RULES, "duplicate_contact_id"])


def query():
    return f"""SELECT count(*) AS row_count, count(*) - count(DISTINCT contact_id) AS duplicate_contact_id,
       {count_where(RULES)}
FROM {TABLE}"""


def samples():
    out = {name: f"SELECT contact_id, _file, _line, email, phone_e164 FROM {TABLE} WHERE {cond}" for name, cond in RULES.items()}
    out["duplicate_contact_id"] = f"SELECT contact_id, count(*) AS copies FROM {TABLE} GROUP BY 1 HAVING count(*) > 1"
    return out
