"""Sessionization per changed visitor (models/intermediate/analytics/int_web_events_sessionized.sql):
a run re-sessionizes only the visitors whose events changed, and the result is the one a full
rebuild gives - a late event that bridges two sessions merges them and renumbers the visitor's
sessions, a new visitor appears, a visitor whose events were erased disappears, one who lost an
event in place is redone, and a visitor with nothing new is left alone."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from dbt_fixtures import dbt_build, query, write_raw

MODELS = "stg_web__events int_web_events_sessionized int_web_sessions"


def page(mid: str, anon: str, ts: str, path: str = "/") -> dict:
    return {"payload": json.dumps({"messageId": mid, "type": "page", "anonymousId": anon, "timestamp": ts,
                                   "context": {"page": {"path": path}}})}


def deliver(warehouse: Path, events: list[dict], day: str) -> None:
    """A later delivery file of raw.web_events (the loader's lineage columns, its delivery day)."""
    with duckdb.connect(str(warehouse)) as con:
        for line, event in enumerate(events, start=1):
            con.execute("INSERT INTO raw.web_events (payload, _file, _line, _load_id, _loaded_at, _delivery_day) "
                        "VALUES (?, ?, ?, ?, CAST(? AS TIMESTAMP), CAST(? AS DATE))",
                        [event["payload"], f"web/events/{day}.jsonl", line, day, f"{day} 01:00:00", day])


def sessions(warehouse: Path) -> tuple[list[tuple], list[tuple]]:
    return (query(warehouse, "SELECT * FROM intermediate.int_web_events_sessionized ORDER BY message_id"),
            query(warehouse, "SELECT * FROM intermediate.int_web_sessions ORDER BY session_id"))


def build(tmp: Path, warehouse: Path, *args: str) -> None:
    result = dbt_build(tmp, warehouse, None, "--select", MODELS, *args)
    assert result.returncode == 0, result.stdout[-3000:]


def test_incremental_sessionization_equals_a_full_rebuild(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    write_raw(warehouse, {"web_events": [
        # anon-a: two sessions, an hour apart
        page("a1", "anon-a", "2024-06-01T10:00:00Z"), page("a2", "anon-a", "2024-06-01T10:20:00Z"),
        page("a3", "anon-a", "2024-06-01T11:10:00Z"),
        # anon-b: two events, one session; anon-c: erased later; anon-d: nothing new ever
        page("b1", "anon-b", "2024-06-01T09:00:00Z"), page("b2", "anon-b", "2024-06-01T09:05:00Z"),
        page("c1", "anon-c", "2024-06-01T12:00:00Z"),
        page("d1", "anon-d", "2024-06-01T08:00:00Z"), page("d2", "anon-d", "2024-06-01T15:00:00Z"),
    ]}, loaded_at="2024-06-02 00:00:00")
    build(tmp_path, warehouse)
    assert query(warehouse, "SELECT max(visitor_session_number) FROM intermediate.int_web_events_sessionized "
                            "WHERE visitor_id = 'anon-a'") == [(2,)]

    # the next day: a late event of anon-a at 10:45 bridges its two sessions, anon-e is new
    deliver(warehouse, [page("a4", "anon-a", "2024-06-01T10:45:00Z"), page("e1", "anon-e", "2024-06-02T10:00:00Z")],
            "2024-06-03")
    with duckdb.connect(str(warehouse)) as con:
        con.execute("DELETE FROM raw.web_events WHERE payload LIKE '%anon-c%'")  # erased
        con.execute("DELETE FROM raw.web_events WHERE payload LIKE '%\"b2\"%'")  # one event purged
        # a mark on a visitor whose events did not change: an incremental build leaves it alone
        con.execute("UPDATE intermediate.int_web_events_sessionized SET page_path = 'untouched' WHERE visitor_id = 'anon-d'")
        con.execute("UPDATE intermediate.int_web_sessions SET channel = 'untouched' WHERE visitor_id = 'anon-d'")
    build(tmp_path, warehouse)

    by_visitor = dict(query(warehouse, "SELECT visitor_id, list(visitor_session_number ORDER BY occurred_at) "
                                       "FROM intermediate.int_web_events_sessionized GROUP BY 1"))
    assert by_visitor == {"anon-a": [1, 1, 1, 1], "anon-b": [1], "anon-d": [1, 2], "anon-e": [1]}
    assert query(warehouse, "SELECT DISTINCT page_path FROM intermediate.int_web_events_sessionized "
                            "WHERE visitor_id = 'anon-d'") == [("untouched",)]
    assert query(warehouse, "SELECT DISTINCT channel FROM intermediate.int_web_sessions "
                            "WHERE visitor_id = 'anon-d'") == [("untouched",)]
    assert query(warehouse, "SELECT visitor_id, count(*), sum(event_count) FROM intermediate.int_web_sessions "
                            "GROUP BY 1 ORDER BY 1") == [("anon-a", 1, 4), ("anon-b", 1, 1), ("anon-d", 2, 2), ("anon-e", 1, 1)]
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE intermediate.int_web_events_sessionized SET page_path = '/' WHERE visitor_id = 'anon-d'")
        con.execute("UPDATE intermediate.int_web_sessions SET channel = 'direct' WHERE visitor_id = 'anon-d'")
    incremental = sessions(warehouse)

    build(tmp_path, warehouse, "--full-refresh")
    assert sessions(warehouse) == incremental
