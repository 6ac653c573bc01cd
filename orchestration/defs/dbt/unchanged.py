"""A run with nothing new does not rebuild the warehouse.

Each of the two dbt builds of a run (`warehouse_dbt_models`: staging and the identity SQL models;
`resolved_dbt_models`: profiles and marts, after the identity assets) is a function of what it
reads, and is fingerprinted on its own (its selection is part of its key): the tables it does not build itself (the raw sources after load, erasure and retention;
the event-day models built before it in the run), the code dbt runs (the dbt project, its seeds
and vars, and the Python its Python models and profile plugin import), the settings that code
reads, the installed dbt/DuckDB versions, and which of its assets the run selected. Its step
fingerprints all of that before dbt starts:

- every input table by its row count and the sum of its rows' hashes (so a row added, deleted or
  changed in place - an erased person's phone nulled - changes it), every output by its row count
  (a table dropped or truncated by hand is rebuilt);
- the code dbt runs, found by following imports from the dbt project's Python files (Python is
  compared by syntax tree without docstrings: a comment or docstring edit changes nothing; a
  module no build step imports, such as the CLI, is not part of it);
- the `CDW_*` settings that code names (credentials and paths aside: a rotated token or a moved
  home rebuilds nothing);
- the same for the steps that skip with the build (the identity assets between the two dbt builds,
  the GX gate, identity metrics, exports, the analyst snapshot: `AFTER_BUILD_MODULES`), and the
  erasure ledger (a new erasure is verified by a
  full run even when no raw row held the person).

Only a change of what dbt itself runs (its code, settings, versions) rebuilds the incremental
models from scratch (`--full-refresh`); a change of the gate's or an export's code or settings
makes the run build and publish again, incrementally.

After a successful build the step records the fingerprint (outputs as built) and the run id in
`<warehouse>.builds.json`. When a later run finds the same fingerprint and that run succeeded end
to end (gate passed, exports and snapshot published), the step logs why and builds nothing; the
steps downstream of it (the identity assets and the second dbt build after the first, GX gate,
identity metrics, exports, snapshot) then skip, since nothing they would produce can differ. The run tag `cdw/rebuild=always` (`cdw run --rebuild`) builds regardless.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
from collections.abc import Iterable
from importlib.metadata import version
from pathlib import Path

import dagster as dg
import duckdb
import yaml

from orchestration import settings
from orchestration.governance.config import tombstones_path
from orchestration.table_digest import row_digests
from orchestration.warehouse import connect

REBUILD_TAG = "cdw/rebuild"

REPO = settings.REPO_ROOT
DBT_DIR = settings.DBT_PROJECT_DIR
_DBT_FOLDERS = ("models", "macros", "seeds", "tests", "snapshots", "analyses")
_DBT_FILES = ("dbt_project.yml", "profiles.yml")
# The steps a skipped build skips too (identity assets, gate, identity metrics, exports, analyst
# snapshot): their code and settings decide whether a run with no new data may skip, not how dbt
# builds (a change of them rebuilds, incremental models stay).
AFTER_BUILD_MODULES = ("data_quality", "orchestration.defs.quality", "orchestration.defs.identity",
                       "orchestration.defs.exports", "orchestration.defs.governance")
# Settings that cannot change what a build produces: where things are (a home moved whole keeps its
# state file beside its warehouse), DuckDB's memory cap, the event-day window of the step before.
_IGNORED_ENV = {"CDW_HOME", "CDW_WAREHOUSE", "CDW_DBT_TARGET_PATH", "CDW_DUCKDB_MEMORY_LIMIT",
                "CDW_EVENT_DAYS_START", "CDW_EVENT_DAYS_END",
                # how long connections and runs wait for each other (orchestration/warehouse.py)
                "CDW_LOCK_TIMEOUT_SECONDS", "CDW_RUN_LOCK_TIMEOUT_SECONDS", "CDW_DBT_CONNECT_ATTEMPTS"}
# Credentials change who is asked, not what is built or published: a rotated token rebuilds nothing.
_SECRET_SUFFIXES = ("_TOKEN", "_KEY", "_PASSWORD", "_SECRET")
_SETTING_NAME = re.compile(r"""["'](CDW_[A-Z0-9_]+)["']""")
_ENV_VAR_CALL = re.compile(r"""env_var\(\s*["']([A-Z0-9_]+)["']""")


def _module_file(module: str) -> Path | None:
    """The file that importing a repository module runs (a package's __init__.py), or None when
    the name is not a repository module (a third-party module, or an object imported from one)."""
    base = REPO.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _package_files(package: str) -> list[Path]:
    return sorted(p for p in REPO.joinpath(*package.split(".")).rglob("*.py") if "__pycache__" not in p.parts)


def _imported_modules(path: Path) -> set[str]:
    """Repository modules a Python file imports, anywhere in it (imports inside functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pkg import name`: name may be a module of pkg or an object in it
            names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return {n for n in names if n.split(".")[0] in ("orchestration", "data_quality")}


def python_closure(entries: Iterable[Path]) -> list[Path]:
    """`entries` and every repository module they import, transitively (with the __init__.py of
    each package on the way, which Python runs first)."""
    seen: set[Path] = set()
    todo = [p for p in entries if p.is_file()]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in _imported_modules(path):
            parts = module.split(".")
            todo += [f for i in range(1, len(parts) + 1) if (f := _module_file(".".join(parts[:i])))]
    return sorted(seen)


def dbt_code_files() -> list[Path]:
    """What dbt runs: the project's files, and the Python its Python models and profile plugins import."""
    files = [DBT_DIR / f for f in _DBT_FILES]
    for folder in _DBT_FOLDERS:
        files += [p for p in (DBT_DIR / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    plugins = yaml.safe_load((DBT_DIR / "profiles.yml").read_text())
    entries = [p for p in files if p.suffix == ".py"]
    for profile in plugins.values():
        for output in (profile.get("outputs") or {}).values() if isinstance(profile, dict) else ():
            for plugin in output.get("plugins") or ():
                entries += [f for f in [_module_file(plugin["module"])] if f]
    return sorted(set(files) | set(python_closure(entries)))


def after_build_code_files() -> list[Path]:
    """The Python of the steps that skip with the build (gate, metrics, exports, snapshot)."""
    return python_closure([f for m in AFTER_BUILD_MODULES for f in _package_files(m)])


def _source_digest(path: Path) -> bytes:
    """A file's content; for Python, its syntax tree without docstrings, so that a comment, a
    docstring or reformatting changes nothing."""
    if path.suffix != ".py":
        return path.read_bytes()
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree).encode()


def code_digest(files: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for p in sorted(set(files)):
        if p.exists():
            name = p.relative_to(REPO) if p.is_relative_to(REPO) else p
            h.update(str(name).encode() + b"\0" + _source_digest(p) + b"\0")
    return h.hexdigest()


def settings_read_by(files: Iterable[Path]) -> dict[str, str]:
    """The CDW_ settings these files name (env_var() in dbt, string literals in Python), as set now:
    a setting no code of the step reads cannot change what the step makes. A name ending in `_`
    (CDW_RETENTION_) stands for every setting with that prefix."""
    names: set[str] = set()
    for p in files:
        if p.suffix in (".py", ".sql", ".yml", ".yaml"):
            text = p.read_text()
            names |= set(_SETTING_NAME.findall(text)) | set(_ENV_VAR_CALL.findall(text))
    return {k: v for k, v in os.environ.items()
            if (k in names or any(n.endswith("_") and k.startswith(n) for n in names))
            and k not in _IGNORED_ENV and not k.endswith(_SECRET_SUFFIXES)}


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
    with connect(warehouse, read_only=True) as con:
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
        dbt_files, after_files = dbt_code_files(), after_build_code_files()
        self.fixed = {
            "dbt code": _short(code_digest(dbt_files)),
            "dbt settings": _short(settings_read_by(dbt_files)),
            "versions": _short({p: version(p) for p in ("dbt-core", "dbt-duckdb", "duckdb", "dagster", "dagster-dbt")}),
            "gate and export code": _short(code_digest(after_files)),
            "gate and export settings": _short(settings_read_by(after_files)),
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


# What incremental models cannot see in their inputs: rows staged by other code or settings stay
# wrong until rebuilt, so a change of these rebuilds them (--full-refresh).
FULL_REFRESH_PARTS = ("dbt code", "versions", "dbt settings")


def full_refresh_reason(fp: BuildFingerprint) -> str | None:
    """Why the build must rebuild its incremental models from scratch, or None."""
    last = _load_state().get(fp.selection_key)
    if not last:
        return "no earlier build of this selection recorded"
    changed = [k for k in FULL_REFRESH_PARTS if last.get("parts", {}).get(k) != fp.fixed[k]]
    return f"{', '.join(changed)} changed since run {last.get('run_id')}" if changed else None


def rebuild_forced(context: dg.AssetExecutionContext) -> bool:
    return context.run.tags.get(REBUILD_TAG) == "always"
