"""The config path from run_report, measured at run time: every call into a reportgen
function that receives the Config or one of its sections (directly as an argument).

Prints: modules entered, visits (a call whose callee module differs from its caller's),
climbs (a call from a lower layer into a higher one, the layers of pyproject's contract),
and the calls by module. usage: walk.py CONFIG [--set k=v ...]"""
import sys, collections, tomllib, pathlib, os
root = pathlib.Path(os.environ.get("REPO", "/work/main"))
sys.path.insert(0, str(root))
layers = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]["layers"]
rank = {}
for i, layer in enumerate(layers):
    for name in layer.split("|"):
        rank[name.strip()] = len(layers) - i  # higher = upper layer

def layer_of(module):
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in rank:
            return rank[".".join(parts[:n])]
    return None

from reportgen.config.base import Section
from reportgen.config.schema import Config
calls = []
def carries_config(frame):
    code = frame.f_code
    for name in code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]:
        v = frame.f_locals.get(name)
        if isinstance(v, (Config, Section)):
            return True
    return False

def prof(frame, event, arg):
    if event != "call":
        return
    mod = frame.f_globals.get("__name__", "")
    if not mod.startswith("reportgen") or mod.startswith("reportgen.config"):
        return
    back = frame.f_back
    caller = back.f_globals.get("__name__", "") if back else ""
    if carries_config(frame):
        calls.append((caller, mod, frame.f_code.co_name))

from reportgen.api import run_report
args = sys.argv[1:]
cfg = args[0]
over = dict(a.split("=", 1) for a in args[1:])
sys.setprofile(prof)
try:
    run_report(cfg, out=os.environ.get("OUT", "/tmp/walk/out"), period="2026-11", **over)
finally:
    sys.setprofile(None)
modules = collections.Counter()
visits = 0; climbs = []
for caller, callee, fn in sorted(set(calls)):
    if caller != callee:
        visits += 1
        modules[callee] += 1
        a, b = layer_of(caller), layer_of(callee)
        if a is not None and b is not None and b > a:
            climbs.append(f"{caller} -> {callee}.{fn}")
print(f"modules entered: {len(modules)}; visits (distinct calls across modules): {visits}; climbs: {len(climbs)}")
for m, n in sorted(modules.items()):
    print(f"  {m}: {n}")
for c in climbs:
    print("  climb:", c)
