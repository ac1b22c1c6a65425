"""Bad bytes through every reader, counted: random bytes, real files cut short and real files
with flipped bytes, in each format reportgen reads; then a sample of them through the real
command line (`reportgen validate`). Each outcome is a table, a clean error (DataError, exit
2 with one line) or an internal error (anything else, exit 1: a bug).

    python benchmarks/fuzz_readers.py                 # 1,000 inputs a format, 200 CLI runs
    python benchmarks/fuzz_readers.py --per-format 200 --cli 50

The real files are the sample customers (2,000 rows, reportgen's seeded generator) written
in each format; tests/test_readers.py runs a few hundred of the same in CI.
"""

from __future__ import annotations

import argparse
import collections
import random
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

NEEDED = {"customer_id": "data.id", "income": "features.numeric",
          "spending_score": "features.numeric", "age": "features.profile"}
CONFIG = """report: {{name: fuzz, title: Fuzz}}
data: {{path: {name}, id: customer_id}}
features: {{numeric: [income, spending_score], profile: [age]}}
output: {{dir: out, formats: [html]}}
"""


def real_files() -> dict[str, bytes]:
    from test_readers import WRITERS

    from reportgen.sample import generate

    frame, _ = generate(2_000, 42)
    return {name: write(frame) for name, write in WRITERS.items()}


def damaged(rng: random.Random, original: bytes, kind: str) -> bytes:
    if kind == "random":
        return rng.randbytes(rng.choice([0, 1, 10, 100, 1000, 10_000]))
    if kind == "cut":
        return original[: rng.randrange(len(original))]
    content = bytearray(original)
    for _ in range(rng.choice([1, 2, 5, 20])):
        content[rng.randrange(len(content))] ^= rng.randrange(1, 256)
    return bytes(content)


def outcome(path: Path) -> str:
    import pandas as pd

    from reportgen.config.sources import DataSection
    from reportgen.data.files import read_frame
    from reportgen.errors import DataError

    data = DataSection.model_validate({"path": str(path), "id": "customer_id"})
    try:
        frame = read_frame(data, NEEDED, ["customer_id"])
    except DataError as exc:
        return "clean error" if "\n" not in str(exc) else "internal error"
    except Exception:
        traceback.print_exc()
        return "internal error"
    return "table" if isinstance(frame, pd.DataFrame) else "internal error"


def cli_outcome(folder: Path, name: str) -> str:
    (folder / "c.yaml").write_text(CONFIG.format(name=name))
    done = subprocess.run([sys.executable, "-m", "reportgen", "validate", "c.yaml"],
                          cwd=folder, capture_output=True, text=True, timeout=300)
    lines = done.stderr.strip().splitlines()
    if done.returncode == 0:
        return "table"
    if done.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "):
        return "clean error"
    print(done.stderr, file=sys.stderr)
    return "internal error"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-format", type=int, default=1_000)
    parser.add_argument("--cli", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    files = real_files()
    counts: dict[tuple[str, str], collections.Counter[str]] = collections.defaultdict(
        collections.Counter)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        for name, original in files.items():
            for i in range(args.per_format):
                kind = ("random", "cut", "flip")[i % 3]
                path = folder / name
                path.write_bytes(damaged(rng, original, kind))
                counts[(name, kind)][outcome(path)] += 1
        through_cli: collections.Counter[str] = collections.Counter()
        for _ in range(args.cli):
            name = rng.choice(sorted(files))
            (folder / name).write_bytes(damaged(rng, files[name], rng.choice(["cut", "flip"])))
            through_cli[cli_outcome(folder, name)] += 1
    print("| file | damage | inputs | table | clean error | internal error |")
    print("|---|---|---|---|---|---|")
    total: collections.Counter[str] = collections.Counter()
    for (name, kind), seen in sorted(counts.items()):
        total.update(seen)
        print(f"| {name} | {kind} | {sum(seen.values())} | {seen['table']} | "
              f"{seen['clean error']} | {seen['internal error']} |")
    print(f"| all | | {sum(total.values())} | {total['table']} | {total['clean error']} | "
          f"{total['internal error']} |")
    print(f"| reportgen validate | cut, flip | {sum(through_cli.values())} | "
          f"{through_cli['table']} | {through_cli['clean error']} | "
          f"{through_cli['internal error']} |")
    print(f"{time.perf_counter() - started:.0f} s")
    sys.exit(1 if total["internal error"] or through_cli["internal error"] else 0)


if __name__ == "__main__":
    main()
