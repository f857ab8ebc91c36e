"""The older benchmarks (bench/workers/run.py, bench/realtime/run.py) loaded as modules, so `make bench`
runs their measurements with its own arguments instead of copying them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]


def load(folder: str):
    """bench/<folder>/run.py as the module `bench_<folder>` (its folder on the path for its neighbours)."""
    name = f"bench_{folder}"
    if name in sys.modules:
        return sys.modules[name]
    path = BENCH / folder / "run.py"
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
