"""staging.stg_web__events: one row per Segment messageId (re-sent and late events deduplicated)."""

from data_quality.metrics import EMAIL_REGEX, bad_format, count_where, zero_suite

TABLE = "staging.stg_web__events"
SEVERITY = "ERROR"
SOURCES = ("web_events",)
TRACK_VOLUME = True
PII_COLUMNS = {"email"}

RULES = {
    "null_message_id": "message_id IS NULL",
    "null_occurred_at": "occurred_at IS NULL",
    "no_visitor_id": "anonymous_id IS NULL AND user_id IS NULL",
    "email_bad_format": bad_format("email", EMAIL_REGEX),
}


def build_suite():
    return zero_suite("stg_web__events", [*RULES, "duplicate_message_id"])


def query():
    return f"""SELECT count(*) AS row_count, count(*) - count(DISTINCT message_id) AS duplicate_message_id,
       {count_where(RULES)}
FROM {TABLE}"""


def samples():
    out = {name: f"SELECT message_id, _file, _line FROM {TABLE} WHERE {cond}" for name, cond in RULES.items()}
    out["duplicate_message_id"] = f"SELECT message_id, count(*) AS copies FROM {TABLE} GROUP BY 1 HAVING count(*) > 1"
    return out
