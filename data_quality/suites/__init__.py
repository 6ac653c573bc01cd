"""Registry of suite modules: every module in this package that defines TABLE and build_suite,
plus the contract suite of every raw source in orchestration/sources.yml that has no module.

A raw source's suite is derived from its contract (data_quality/raw_contract.py), so adding a
source to sources.yml is enough to gate it: `raw_<source>` appears here as if
`data_quality/suites/raw_<source>.py` held the three lines the built-in sources have. Write that
module only to change the derived suite (e.g. TRACK_VOLUME = True).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from types import ModuleType


def _raw_contract_module(source: str, description: str) -> ModuleType:
    from data_quality.raw_contract import RawSuite

    raw = RawSuite(source)
    mod = ModuleType(f"{__name__}.raw_{source}",
                     f"raw.{source}: the source contract (orchestration/sources.yml), the quarantine rate "
                     "of each delivery, freshness. Derived from the contract (no module).")
    mod.TABLE = raw.table
    mod.SEVERITY = "ERROR"
    mod.build_suite, mod.query, mod.samples = raw.build_suite, raw.query, raw.samples
    return mod


def suite_modules() -> list[ModuleType]:
    from orchestration.extract.contracts import contracts

    mods = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(mod, "TABLE") and hasattr(mod, "build_suite"):
            mods.append(mod)
    checked = {m.TABLE for m in mods}
    for name, contract in contracts().items():
        if contract.table not in checked:
            mod = sys.modules.setdefault(f"{__name__}.raw_{name}", _raw_contract_module(name, contract.description))
            mods.append(mod)
    return sorted(mods, key=lambda m: m.__name__)
