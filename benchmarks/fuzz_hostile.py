"""Hostile and clumsy input, counted (issue 27): configs, `--set` values and serve's URLs.

Three fuzzers, each printing how many inputs it tried and how they ended:

- configs: the sample config mutated (a value replaced by a random one of any YAML type:
  huge and negative numbers, text with line breaks and control characters, deep lists,
  aliases; keys added, dropped or repeated; bytes flipped in the text), each through the
  real command line in this process (`reportgen validate`): exit 0 or exit 2 with one
  `error:` line is right; exit 1, a traceback, or a second line is a bug;
- `--set`: random keys and values on the same config, the same way;
- serve: random request paths (traversal, NUL and percent-escapes, long names, bytes that
  are not UTF-8) and Host headers against a real server whose config folder holds a
  secret: every request must be answered with a status line, and the secret never served.

    python benchmarks/fuzz_hostile.py                    # 1,500 configs, 500 --set, 3,000 URLs
    python benchmarks/fuzz_hostile.py --configs 200 --sets 100 --urls 500
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import random
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

BASE = {
    "report": {"name": "fuzz", "title": "Fuzz"},
    "data": {"path": "customers.csv", "id": "customer_id"},
    "features": {"numeric": ["income", "score"], "profile": ["age"], "log": ["income"]},
    "segmentation": {"k": [2, 4], "n_init": 4},
    "personas": {"preset": "retail"},
    "output": {"dir": "out", "formats": ["html"]},
}
# `validate` checks the config and the data; about --runs of the configs go through `run`
# (HTML only), through segmentation, the page and publishing.
NASTY_TEXT = ["", " ", "\n", "a\nb: 1", "\r", "\x00", "\x1b[31m", "\u2028", "#", ": x",
              "{{x}}", "{title:99999}", "%s" * 50, "../../etc/passwd", "/dev/zero", "é" * 300,
              "`", "income + ", "log(income)", "(" * 300 + "income" + ")" * 300,
              "[" * 60 + "]" * 60, "*a", "&a", "!!python/object:os.system", "0x10", "1e400",
              "nan", "inf", "-0", "yes", "~", "x" * 10_000]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rng.choice([0, -1, 1, 2, 3, 2**31, 2**32, 2**63, -(2**63), 10**30, 10**12])
    if kind == 1:
        return rng.choice([0.0, -0.5, 0.5, 1e308, -1e308, float("inf"), float("nan"), 1e-300])
    if kind == 2:
        return rng.choice(NASTY_TEXT)
    if kind == 3:
        return rng.choice([True, False, None])
    if kind == 4:
        return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(1, 30)))
    if kind == 5:
        return rng.choice(["income", "score", "age", "customer_id", "nope"])
    if kind == 6:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    if kind == 7:
        return {str(random_value(rng, depth + 1))[:20]: random_value(rng, depth + 1)
                for _ in range(rng.randrange(0, 3))}
    return [[[random_value(rng, depth + 3)]]]


def alike(rng: random.Random, value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return rng.choice([-1, 0, 1, 2, 3, 4, 5, 8, 49, 50, 51, 100, 101, value])
    if isinstance(value, list):
        pool = ["income", "score", "age", "customer_id"]
        return rng.sample(pool, rng.randrange(0, len(pool) + 1)) if all(
            isinstance(v, str) for v in value) else [alike(rng, v) for v in value]
    if isinstance(value, str):
        return rng.choice(["income", "score", "age", "customer_id", "retail", "rfm", "html",
                           "pdf", "out", value + "\n", value.upper(), "a" * 65, value])
    return value


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


def mutated_config(rng: random.Random) -> str:
    import copy

    import yaml

    config = copy.deepcopy(BASE)
    for _ in range(rng.randrange(1, 3)):
        where = rng.choice(paths(config))
        parent = config
        for part in where[:-1]:
            parent = parent[part]
        action = rng.randrange(10)
        if action == 0 and isinstance(parent, dict):
            del parent[where[-1]]
        elif action == 1 and isinstance(parent, dict):
            parent[str(random_value(rng))[:30] or "x"] = random_value(rng)
        elif action in (2, 3):
            parent[where[-1]] = random_value(rng)
        else:  # a value of the same kind: configs that get past validation, into the run
            parent[where[-1]] = alike(rng, parent[where[-1]])
    text = yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    roll = rng.random()
    if roll < 0.15:  # flip bytes of the text
        raw = bytearray(text.encode("utf-8"))
        for _ in range(rng.randrange(1, 6)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return raw.decode("utf-8", "replace")
    if roll < 0.25:  # a key written twice, or an alias added
        return text + rng.choice(["output: {dir: elsewhere}\n", "x: &a [1, 2]\ny: [*a, *a]\n",
                                  "report: {name: other, title: T}\n"])
    return text


def run_cli(argv: list[str]) -> tuple[int, str]:
    from reportgen.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own usage errors
            code = int(exc.code or 0)
    return code, err.getvalue()


def judged(code: int, err: str) -> str:
    lines = err.strip().splitlines()
    if code == 0:
        return "ok"
    if code == 2 and len(lines) == 1 and lines[0].startswith("error: ") \
            and "Traceback" not in err:
        return "clean error"
    if code == 2 and lines and lines[-1].startswith("reportgen") and "error:" in lines[-1]:
        return "usage error (argparse)"
    return "BUG"


def fuzz_configs(count: int, sets: int, seed: int, runs: int) -> None:
    from helpers import blobs_frame

    rng = random.Random(seed)
    outcomes: collections.Counter[str] = collections.Counter()
    bugs: list[str] = []
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        blobs_frame().drop(columns="group").to_csv(folder / "customers.csv", index=False)
        started = time.perf_counter()
        for i in range(count):
            config = folder / "config.yaml"
            config.write_text(mutated_config(rng), encoding="utf-8")
            command = "run" if rng.random() < runs / max(count, 1) else "validate"
            code, err = run_cli([command, str(config), "--period", "2026-11"])
            verdict = f"{judged(code, err)} ({command})"
            outcomes[verdict] += 1
            if verdict.startswith("BUG") and len(bugs) < 10:
                bugs.append(f"config {i}: exit {code}: {err.strip()[-300:]}")
        took = time.perf_counter() - started
        print(f"configs: {count} tried in {took:.0f} s: {dict(outcomes)}")
        import yaml

        (folder / "config.yaml").write_text(yaml.safe_dump(BASE))
        outcomes.clear()
        keys = [".".join(str(p) for p in path) for path in paths(BASE)]
        for _ in range(sets):
            key = rng.choice([*keys, "a" + ".a" * rng.randrange(30), "", ".", "x..y"])
            value = rng.choice([*NASTY_TEXT, "[1, 2]", "{a: 1}", "5", "-5", "1e999"])
            code, err = run_cli(["validate", str(folder / "config.yaml"), "--set",
                                 f"{key}={value}"])
            verdict = judged(code, err)
            outcomes[verdict] += 1
            if verdict == "BUG" and len(bugs) < 20:
                bugs.append(f"--set {key}={value[:40]!r}: exit {code}: {err.strip()[-300:]}")
        print(f"--set: {sets} tried: {dict(outcomes)}")
    for bug in bugs:
        print("  " + bug)


def fuzz_urls(count: int, seed: int) -> None:
    from reportgen.serve import Published, Server

    rng = random.Random(seed)
    secret = b"SMTP_PASSWORD=hunter2-" + str(seed).encode()
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        (folder / "smtp.env").write_bytes(secret)
        (folder / "fuzz" / "2026-11").mkdir(parents=True)
        (folder / "fuzz" / "2026-11" / "report.html").write_text("<p>report</p>")
        (folder / "fuzz" / "index.html").write_text("<p>index</p>")
        published = Published()
        published.show("<html><body>page</body></html>")
        server = Server("127.0.0.1", 0, published, lambda: folder)
        port = int(server.start().rstrip("/").rsplit(":", 1)[1])
        statuses: collections.Counter[str] = collections.Counter()
        leaks = 0
        try:
            for _ in range(count):
                path = random_path(rng)
                host = rng.choice(["localhost", "127.0.0.1", "[::1]", "[::1]:80", "evil.com",
                                   "", "localhost:99999", "[", "a" * 300, "127.0.0.1:x"])
                reply = request(port, path, host)
                status = reply.split(b" ", 2)[1].decode() if reply.startswith(b"HTTP/") \
                    else "NO ANSWER"
                statuses[status] += 1
                leaks += secret in reply
        finally:
            server.stop()
    print(f"serve: {count} requests: {dict(sorted(statuses.items()))}; secret served "
          f"{leaks} times")


def random_path(rng: random.Random) -> bytes:
    parts = [rng.choice([b"archive", b"..", b"%2e%2e", b".", b"fuzz", b"2026-11", b"smtp.env",
                         b"index.html", b"%00", b"%ff%fe", b"x" * rng.randrange(1, 400),
                         b".reportgen.lock", b"report.html", b"%2f", b"\\", b"..%2f",
                         bytes(rng.randrange(33, 127) for _ in range(rng.randrange(1, 8)))])
             for _ in range(rng.randrange(1, 7))]
    return b"/" + b"/".join(parts) + rng.choice([b"", b"/", b"?x=1", b"#f"])


def request(port: int, path: bytes, host: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: " + host.encode() +
                     b"\r\nConnection: close\r\n\r\n")
        data = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                data += chunk
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=1500)
    parser.add_argument("--sets", type=int, default=500)
    parser.add_argument("--runs", type=int, default=150,
                        help="about this many of the configs go through `run` (HTML only)")
    parser.add_argument("--urls", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=27)
    args = parser.parse_args()
    fuzz_urls(args.urls, args.seed)
    fuzz_configs(args.configs, args.sets, args.seed, args.runs)


if __name__ == "__main__":
    main()
