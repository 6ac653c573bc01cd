"""A run with nothing new does not rebuild the warehouse.

The warehouse build (`warehouse_dbt_models`: staging, identity, marts) is a function of what it
reads: the tables it does not build itself (the raw sources after load, erasure and retention;
the event-day models built before it in the run), the code (the dbt project, its seeds and vars,
the Python of the identity models and of the pipeline), the installed dbt/DuckDB versions, the
`CDW_*` settings, and which of its assets the run selected. Its step fingerprints all of that
before dbt starts:

- every input table by its row count and the sum of its rows' hashes (so a row added, deleted or
  changed in place - an erased person's phone nulled - changes it), every output by its row count
  (a table dropped or truncated by hand is rebuilt);
- every file of the dbt project, of `orchestration/` and of `data_quality/` (the gate) by content,
  and the erasure ledger (a new erasure is verified by a full run even when no raw row held it).

After a successful build the step records the fingerprint (outputs as built) and the run id in
`<warehouse>.builds.json`. When a later run finds the same fingerprint and that run succeeded end
to end (gate passed, exports and snapshot published), the step logs why and builds nothing; the
steps downstream of it (GX gate, identity metrics, exports, snapshot) then skip, since nothing they
would produce can differ. The run tag `cdw/rebuild=always` (`cdw run --rebuild`) builds regardless.
"""

from __future__ import annotations

import hashlib
import logging
import json
import os
from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path

import dagster as dg
import duckdb

from orchestration import settings
from orchestration.table_digest import row_digests
from orchestration.governance.config import tombstones_path

REBUILD_TAG = "cdw/rebuild"

REPO = Path(__file__).resolve().parents[3]
_CODE_DIRS = (("dbt_project", ("models", "macros", "seeds", "tests", "snapshots", "analyses")), ("orchestration", ("",)), ("data_quality", ("",)))
_CODE_FILES = ("dbt_project/dbt_project.yml", "dbt_project/profiles.yml")
# Settings that cannot change what a build produces: where things are (a home moved whole keeps its
# state file beside its warehouse), DuckDB's memory cap, the event-day window of the step before.
# Every other CDW_ setting (exports, gate, snapshot, retention...) may, and counts.
_IGNORED_ENV = {"CDW_HOME", "CDW_WAREHOUSE", "CDW_DBT_TARGET_PATH", "CDW_DUCKDB_MEMORY_LIMIT",
                "CDW_EVENT_DAYS_START", "CDW_EVENT_DAYS_END",
                # how long connections and runs wait for each other (orchestration/warehouse.py)
                "CDW_LOCK_TIMEOUT_SECONDS", "CDW_RUN_LOCK_TIMEOUT_SECONDS", "CDW_DBT_CONNECT_ATTEMPTS"}


def code_digest() -> str:
    """Every file the build's code is made of, by content (a few hundred small files: milliseconds)."""
    h = hashlib.sha256()
    files: list[Path] = [REPO / f for f in _CODE_FILES]
    for top, subs in _CODE_DIRS:
        for sub in subs:
            folder = REPO / top / sub
            files += [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    for p in sorted(set(files)):
        if p.exists():
            h.update(str(p.relative_to(REPO)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def _file_digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def selected_nodes(manifest: dict, translator, selected_keys: Iterable[dg.AssetKey]) -> dict[str, dict]:
    """unique_id -> manifest node of the dbt models, seeds and snapshots the step is to build."""
    keys = set(selected_keys)
    return {uid: node for uid, node in manifest["nodes"].items()
            if node["resource_type"] in ("model", "seed", "snapshot") and translator.get_asset_key(node) in keys}


def input_relations(manifest: dict, selected: dict[str, dict]) -> list[str]:
    """Relations the selection reads but does not build: sources and models built elsewhere."""
    out = set()
    for node in selected.values():
        for parent in node.get("depends_on", {}).get("nodes", []):
            if parent in selected:
                continue
            parent_node = manifest["sources"].get(parent) or manifest["nodes"].get(parent)
            if parent_node and parent_node.get("resource_type") in ("source", "model", "seed", "snapshot"):
                rel = parent_node.get("relation_name")
                if rel:
                    out.add(rel)
    return sorted(out)


def _unqualified(relation: str) -> str:
    """"warehouse"."raw"."x" -> "raw"."x": the step's own connection names the file differently."""
    parts = relation.split(".")
    return ".".join(parts[-2:])


def _exists(con: duckdb.DuckDBPyConnection, relation: str) -> tuple[bool, bool]:
    schema, name = (p.strip('"') for p in _unqualified(relation).split("."))
    row = con.execute("SELECT table_type FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                      [schema, name]).fetchone()
    return (row is not None, row is not None and row[0] == "VIEW")


def data_digest(warehouse: Path, inputs: list[str], outputs: list[str]) -> dict[str, str]:
    """relation -> 'rows:hash-sum' of every input; relation -> 'rows' (tables) / 'view' of every output."""
    out: dict[str, str] = {}
    if not warehouse.exists():
        return {"warehouse": "missing"}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for rel in inputs:
            present, _ = _exists(con, rel)
            if not present:
                out[rel] = "missing"
                continue
            ((n, digest),) = row_digests(con, _unqualified(rel))
            out[rel] = f"{n}:{digest}"
        for rel in outputs:
            present, is_view = _exists(con, rel)
            if not present:
                out[rel] = "missing"
            elif is_view:
                out[rel] = "view"
            else:
                out[rel] = str(con.execute(f"SELECT count(*) FROM {_unqualified(rel)}").fetchone()[0])
    return out


def _short(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


class BuildFingerprint:
    """The fingerprint of one build of a selection: taken before dbt runs (to compare with the last
    build's), retaken on the outputs after it succeeded (to record: the next run compares against
    the state this build left)."""

    def __init__(self, manifest: dict, translator, selected_keys: Iterable[dg.AssetKey]):
        selected = selected_nodes(manifest, translator, selected_keys)
        self.selection = sorted(selected)
        self.inputs = input_relations(manifest, selected)
        self.outputs = sorted(r for r in (n.get("relation_name") for n in selected.values()) if r)
        self.fixed = {
            "code": _short(code_digest()),
            "versions": _short({p: version(p) for p in ("dbt-core", "dbt-duckdb", "duckdb", "dagster", "dagster-dbt")}),
            "settings": _short({k: v for k, v in os.environ.items() if k.startswith("CDW_") and k not in _IGNORED_ENV}),
            # every erasure recorded: a new one is proven (erasure_verification) by a full run even
            # when no raw row held the person
            "erasure ledger": _short(_file_digest(tombstones_path())),
            "selection": _short(self.selection),
            # the build does not write its inputs: read once, before it
            **{_unqualified(k).replace('"', ""): _short(v)
               for k, v in data_digest(settings.warehouse_path(), self.inputs, []).items()},
        }

    @property
    def selection_key(self) -> str:
        return _short(self.selection)

    def parts(self) -> dict[str, str]:
        """Short digest per part: the fixed ones and every output as it is now."""
        outputs = data_digest(settings.warehouse_path(), [], self.outputs)
        return {**self.fixed, **{"output " + _unqualified(k).replace('"', ""): _short(v) for k, v in outputs.items()}}

    def digest(self) -> str:
        return _digest(self.parts())


def _digest(parts: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _state_path() -> Path:
    # beside the warehouse: a warehouse replaced or deleted has other inputs, so no stale match
    return settings.warehouse_path().with_name(settings.warehouse_path().name + ".builds.json")


def _load_state() -> dict:
    try:
        return json.loads(_state_path().read_text())
    except (FileNotFoundError, ValueError):
        return {}


def record_build(fp: BuildFingerprint, run_id: str) -> str:
    """After a successful build: its fingerprint (outputs as built) and run, for the next run."""
    parts = fp.parts()
    state = _load_state()
    state[fp.selection_key] = {"fingerprint": _digest(parts), "run_id": run_id, "parts": parts}
    path = _state_path()
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    os.replace(tmp, path)
    return _digest(parts)


def current_build(context: dg.AssetExecutionContext, fp: BuildFingerprint) -> tuple[str | None, str, str]:
    """(run id, fingerprint, why): the run id of the last build of this selection when it had this
    very fingerprint and its run succeeded end to end, else None and why the step has to build."""
    parts = fp.parts()
    digest = _digest(parts)
    last = _load_state().get(fp.selection_key)
    if not last:
        return None, digest, "no earlier build of this selection recorded"
    if last.get("fingerprint") != digest:
        before = last.get("parts", {})
        changed = sorted(k for k in parts.keys() | before.keys() if parts.get(k) != before.get(k))
        more = f" and {len(changed) - 8} more" if len(changed) > 8 else ""
        return None, digest, f"changed since run {last.get('run_id')}: {', '.join(changed[:8])}{more}"
    run = context.instance.get_run_by_id(last["run_id"])
    if run is None or run.status != dg.DagsterRunStatus.SUCCESS:
        status = "unknown to this Dagster instance" if run is None else run.status.value.lower()
        return None, digest, f"inputs as built by run {last['run_id']}, but that run is {status}"
    return last["run_id"], digest, ""


class _QuietSkippedChecks(logging.Filter):
    """After a skipped build, Dagster warns once per dbt test and GX suite per downstream step that
    the blocking check "emitted no result ... will proceed without gating on it" (hundreds of lines),
    though those steps skip: nothing proceeds. Silenced only while the build of this process's
    current run is skipped; the step's own log line says what happened."""

    skipped = False

    def filter(self, record: logging.LogRecord) -> bool:
        return not (self.skipped and "emitted no result" in record.getMessage())


QUIET = _QuietSkippedChecks()
logging.getLogger("dagster._core.execution.plan.active").addFilter(QUIET)


# What incremental models cannot see in their inputs: rows staged by other code or settings stay
# wrong until rebuilt, so a change of these rebuilds them (--full-refresh).
FULL_REFRESH_PARTS = ("code", "versions", "settings")


def full_refresh_reason(fp: BuildFingerprint) -> str | None:
    """Why the build must rebuild its incremental models from scratch, or None."""
    last = _load_state().get(fp.selection_key)
    if not last:
        return "no earlier build of this selection recorded"
    changed = [k for k in FULL_REFRESH_PARTS if last.get("parts", {}).get(k) != fp.fixed[k]]
    return f"{', '.join(changed)} changed since run {last.get('run_id')}" if changed else None


def rebuild_forced(context: dg.AssetExecutionContext) -> bool:
    return context.run.tags.get(REBUILD_TAG) == "always"
