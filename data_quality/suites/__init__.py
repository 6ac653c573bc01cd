"""Registry of suite modules: every module in this package that defines TABLE and build_suite."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def suite_modules() -> list[ModuleType]:
    mods = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        mod = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(mod, "TABLE") and hasattr(mod, "build_suite"):
            mods.append(mod)
    return mods
