"""Audience segments are declared in YAML: adding one needs no Python, `since` survives rebuilds,
and a bad declaration stops the build with an error naming the segment.

Works on copies: the dbt project (to edit its YAML) and the session demo warehouse.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
SEGMENTS_YML = Path("models/marts/segments/segment_memberships.yml")


@pytest.fixture
def project(tmp_path, demo):
    proj = tmp_path / "dbt_project"
    shutil.copytree(REPO / "dbt_project", proj, ignore=shutil.ignore_patterns("target", "logs", ".user.yml"))
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(demo.warehouse, warehouse)
    return proj, warehouse


def set_segments(proj: Path, extra: list[dict]) -> None:
    path = proj / SEGMENTS_YML
    doc = yaml.safe_load(path.read_text())
    doc["models"][0]["config"]["meta"]["segments"].extend(extra)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def build_segments(proj: Path, warehouse: Path) -> subprocess.CompletedProcess:
    dbt = shutil.which("dbt", path=str(Path(sys.executable).parent)) or "dbt"
    env = {**os.environ, "CDW_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run([dbt, "build", "--project-dir", str(proj), "--profiles-dir", str(proj),
                           "--select", "segment_memberships"],
                          env=env, capture_output=True, text=True, timeout=600)


def q(warehouse: Path, sql: str):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_a_segment_added_in_yaml_is_built_and_keeps_its_since(project):
    proj, warehouse = project
    # the demo sources carry no ads consent: grant it to half the people of this copy
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE marts.customer_360 SET ads_consent = customer_id < 'cus_8'")
    set_segments(proj, [{"name": "frequent_visitors", "description": "Ten web events or more.",
                         "predicate": "web_event_count >= 10", "consent_purpose": "none"},
                        {"name": "subscribed_ceos", "description": "CEOs we may email.",
                         "predicate": "seniority = 'c_level'", "consent_purpose": "email_marketing"},
                        {"name": "ad_ready_visitors", "description": "Web visitors we may reach with ads.",
                         "predicate": "web_event_count > 0", "consent_purpose": "ads"}])
    first = build_segments(proj, warehouse)
    assert first.returncode == 0, first.stdout[-4000:]
    expected = q(warehouse, "SELECT count(*) FROM marts.customer_360 WHERE web_event_count >= 10")[0][0]
    assert expected > 0
    assert q(warehouse, "SELECT count(*) FROM marts.segment_memberships WHERE segment = 'frequent_visitors'") == [(expected,)]
    ceos = q(warehouse, "SELECT count(*) FROM marts.customer_360 WHERE seniority = 'c_level' AND email_marketing_consent")
    assert q(warehouse, "SELECT count(*) FROM marts.segment_memberships WHERE segment = 'subscribed_ceos'") == ceos
    # any consent purpose: members are exactly the visitors whose ads consent holds
    ads = q(warehouse, "SELECT customer_id FROM marts.customer_360 WHERE web_event_count > 0 AND ads_consent ORDER BY 1")
    assert ads and q(warehouse, "SELECT customer_id FROM marts.segment_memberships"
                                " WHERE segment = 'ad_ready_visitors' ORDER BY 1") == ads
    before = q(warehouse, "SELECT membership_id, since FROM marts.segment_memberships ORDER BY 1")

    second = build_segments(proj, warehouse)
    assert second.returncode == 0, second.stdout[-4000:]
    assert q(warehouse, "SELECT membership_id, since FROM marts.segment_memberships ORDER BY 1") == before


@pytest.mark.parametrize("segment, message", [
    ({"name": "broken_segment", "description": "typo in a column", "predicate": "lead_scor > 50",
      "consent_purpose": "none"}, "segment 'broken_segment' (models/marts/segments/segment_memberships.yml): invalid predicate \"lead_scor > 50\": unknown column lead_scor"),
    ({"name": "bad_syntax", "description": "not SQL", "predicate": "lead_score >>> (",
      "consent_purpose": "none"}, "segment 'bad_syntax'"),
    ({"name": "needs_ads", "description": "no such consent", "predicate": "true",
      "consent_purpose": "carrier_pigeons"},
     "segment 'needs_ads' (models/marts/segments/segment_memberships.yml): unknown consent purpose 'carrier_pigeons'"
     " (known: none, email_marketing, ads, analytics - var consent_purposes)"),
    ({"name": "unknown_fn", "description": "no such function", "predicate": "frobnicate(lead_score) > 1",
      "consent_purpose": "none"}, "unknown function frobnicate"),
    ({"name": "champions", "description": "declared twice", "predicate": "true",
      "consent_purpose": "none"}, "segment 'champions'"),
])
def test_a_bad_segment_stops_the_build_naming_the_segment(project, segment, message):
    proj, warehouse = project
    set_segments(proj, [segment])
    result = build_segments(proj, warehouse)
    assert result.returncode != 0
    assert message in result.stdout, result.stdout[-4000:]
    assert "Traceback" not in result.stdout
