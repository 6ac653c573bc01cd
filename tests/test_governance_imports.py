"""The governance package imports one way: no cycle between its modules (none hidden by an
import inside a function), and nothing in it imports the Dagster definitions (orchestration.defs),
which import it."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

GOVERNANCE = Path(__file__).resolve().parent.parent / "orchestration" / "governance"


def _imports() -> dict[str, set[str]]:
    graph = {}
    for path in sorted(GOVERNANCE.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("orchestration.defs"), f"{path.name} imports {node.module}"
                if node.module == "orchestration.governance":
                    deps |= {alias.name for alias in node.names}
                elif node.module.startswith("orchestration.governance."):
                    deps.add(node.module.rsplit(".", 1)[1])
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("orchestration.defs") for a in node.names), path.name
        for function in (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))):
            inner = [n for n in ast.walk(function) if isinstance(n, ast.ImportFrom)
                     and (n.module or "").startswith("orchestration")]
            assert not inner, f"{path.name}: {function.name} imports orchestration code inside the function"
        graph[path.stem] = deps
    return graph


def test_governance_modules_import_one_way_and_never_the_definitions():
    graph = _imports()
    assert {"erasure", "ledger", "forms", "findings", "scan", "enforcement"} <= graph.keys()
    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError on a cycle
    assert order.index("ledger") < order.index("forms") < order.index("findings") < order.index("erasure")
