"""The config path of one run, measured while it runs (issue 30's before/after figures).

Every call into a reportgen function is recorded with its caller's module; a call is on
the config path when the function receives the Config or one of its sections as an
argument. Printed: the modules the config path enters, its distinct calls from one module
into another, and the climbs: calls from a module of a lower layer into one of a higher
layer (the layers of pyproject.toml's contract), which a one-way pipeline never makes
(a return to the orchestrator is no call). `--all` counts every call, config or not.

    python scripts/config_walk.py configs/sample.yaml [--all] [--edges] [key=value ...]

`REPO=<checkout>` measures another checkout (an earlier commit's worktree) with this
script; the run writes into a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import tomllib
from pathlib import Path
from types import FrameType
from typing import Any

REPO = Path(os.environ.get("REPO", Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(REPO))


def layer_ranks() -> dict[str, int]:
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = contracts["contracts"][0]["layers"]
    return {name.strip(): len(layers) - i for i, layer in enumerate(layers)
            for name in layer.split("|")}


def layer_of(module: str, ranks: dict[str, int]) -> int | None:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in ranks:
            return ranks[".".join(parts[:n])]
    return None


def record_calls(config: str, overrides: dict[str, str], every: bool
                 ) -> set[tuple[str, str, str]]:
    from reportgen.api import run_report
    from reportgen.config.base import Section
    from reportgen.config.schema import Config

    calls: set[tuple[str, str, str]] = set()

    def carries_config(frame: FrameType) -> bool:
        code = frame.f_code
        names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
        return any(isinstance(frame.f_locals.get(n), Config | Section) for n in names)

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event != "call":
            return
        module = frame.f_globals.get("__name__", "")
        if not module.startswith("reportgen") or module.startswith("reportgen.config"):
            return
        caller = frame.f_back.f_globals.get("__name__", "") if frame.f_back else ""
        if every and not caller.startswith("reportgen"):
            return
        if every or carries_config(frame):
            calls.add((caller, module, frame.f_code.co_name))

    with tempfile.TemporaryDirectory() as out:
        sys.setprofile(profile)
        try:
            run_report(config, out=out, period="2026-11", **overrides)
        finally:
            sys.setprofile(None)
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config")
    parser.add_argument("overrides", nargs="*", help="key=value, as --set")
    parser.add_argument("--all", action="store_true", help="every call, not only config's")
    parser.add_argument("--edges", action="store_true", help="list the calls")
    args = parser.parse_args()
    overrides = dict(item.split("=", 1) for item in args.overrides)
    ranks = layer_ranks()
    calls = sorted(c for c in record_calls(args.config, overrides, args.all) if c[0] != c[1])
    climbs = [c for c in calls if (a := layer_of(c[0], ranks)) is not None
              and (b := layer_of(c[1], ranks)) is not None and b > a]
    print(f"modules entered: {len({callee for _, callee, _ in calls})}; distinct calls "
          f"across modules: {len(calls)}; climbs: {len(climbs)}")
    for caller, callee, function in climbs:
        print(f"  climb: {caller} -> {callee}.{function}")
    if args.edges:
        for caller, callee, function in calls:
            print(f"  {caller} -> {callee}.{function}")


if __name__ == "__main__":
    main()
