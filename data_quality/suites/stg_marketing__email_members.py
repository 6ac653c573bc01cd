"""staging.stg_marketing__email_members: one row per email-platform member, email and phone normalized."""

from data_quality.metrics import E164_REGEX, EMAIL_REGEX, bad_format, count_where, zero_suite

TABLE = "staging.stg_marketing__email_members"
SEVERITY = "ERROR"
SOURCES = ("email_members",)
TRACK_VOLUME = True
PII_COLUMNS = {"email", "phone_e164"}

RULES = {
    "null_member_id": "member_id IS NULL",
    "null_email": "email IS NULL",
    "email_bad_format": bad_format("email", EMAIL_REGEX),
    "email_not_normalized": "email <> lower(trim(email))",
    "email_without_match_key": "email IS NOT NULL AND email_match_key IS NULL",
    "phone_not_e164": bad_format("phone_e164", E164_REGEX),
    "unknown_status": "status NOT IN ('subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional')",
}


def build_suite():
    return zero_suite("stg_marketing__email_members", [*RULES, "duplicate_member_id"])


def query():
    return f"""SELECT count(*) AS row_count, count(*) - count(DISTINCT member_id) AS duplicate_member_id,
       {count_where(RULES)}
FROM {TABLE}"""


def samples():
    out = {name: f"SELECT member_id, _file, _line, email, status FROM {TABLE} WHERE {cond}" for name, cond in RULES.items()}
    out["duplicate_member_id"] = f"SELECT member_id, count(*) AS copies FROM {TABLE} GROUP BY 1 HAVING count(*) > 1"
    return out
