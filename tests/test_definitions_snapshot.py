"""The code location's shape, pinned: every asset key (with its group), asset check, job, schedule and
sensor. A change to any of them fails here with the difference; when it is intended, rewrite the
snapshot with `CDW_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_definitions_snapshot.py` and commit it
with the change, so a review sees what the UI and the operators will see."""

from __future__ import annotations

import json
import os
from pathlib import Path

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def shape() -> dict:
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    assets = {k.to_user_string(): graph.get(k).group_name
              for k in graph.get_all_asset_keys() if graph.has(k) and graph.get(k).is_materializable}
    checks = sorted(f"{c.asset_key.to_user_string()}:{c.name}" for c in graph.asset_check_keys)
    return {
        "assets": dict(sorted(assets.items())),
        "asset_checks": checks,
        "jobs": sorted(j.name for j in defs.resolve_all_job_defs() if not j.name.startswith("__")),
        "schedules": sorted(s.name for s in defs.schedules or []),
        "sensors": sorted(s.name for s in defs.sensors or []),
    }


def test_definitions_match_the_snapshot():
    got = shape()
    if os.environ.get("CDW_UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(got, indent=1) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    for part in expected:
        if isinstance(expected[part], dict):
            changed = {k: (expected[part].get(k), got[part].get(k)) for k in expected[part].keys() | got[part].keys()
                       if expected[part].get(k) != got[part].get(k)}
            assert not changed, f"{part} changed (snapshot, now): {changed}"
        else:
            assert got[part] == expected[part], (f"{part}: added {sorted(set(got[part]) - set(expected[part]))}, "
                                                 f"removed {sorted(set(expected[part]) - set(got[part]))}")
