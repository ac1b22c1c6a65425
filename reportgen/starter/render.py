"""The starter config, written from config.yaml.j2: the template lays the YAML out, one
filter quotes (`yaml`: bare when that reads back as the same text, else double-quoted),
and one aligns the comments that give each choice its reason."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import jinja2
import yaml

from reportgen.starter.inspect import IDENTIFIER_RE, Column, Starter, ref, slug

COMMENT_COLUMN = 32


def render_config(starter: Starter, target: Path) -> str:
    from reportgen.config.docs import SCHEMA_PATH

    sample = starter.sample
    stem = sample.path.name.split(".")[0]
    context = {
        "starter": starter, "schema": SCHEMA_PATH, "today": dt.date.today(),
        "source": sample.path.name, "rows": len(sample.frame), "target": target.name,
        "name": slug(stem) or "report", "title": _title(stem),
        "path": _relative(sample.path, target.parent), "read": _read_options(starter),
        "amount": ref(starter.sales["amount"]) if starter.sales and "amount" in starter.sales
        else None,
        "logged": [c.name for c in starter.clustered if c.log],
        "profile": [c for c in starter.profile if starter.clustered or c.role != "category"],
        "unused": unused_columns(starter),
        "preset": "rfm" if starter.sales is not None else "retail",
    }
    return _environment().get_template("config.yaml.j2").render(**context).rstrip() + "\n"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent)), autoescape=False,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)
    env.filters.update(yaml=yaml_text, comment=commented)
    return env


def yaml_text(value: str, flow: bool = False) -> str:
    """A YAML scalar: bare when that reads back as the same string, else double-quoted.
    In a flow list ([a, b]) only identifiers stay bare."""
    if flow:
        return value if IDENTIFIER_RE.match(value) else json.dumps(value, ensure_ascii=False)
    try:
        if yaml.safe_load(value) == value and not value.startswith(("`", "#")) \
                and ": " not in value and " #" not in value:
            return value
    except yaml.YAMLError:
        pass
    return json.dumps(value, ensure_ascii=False)


def commented(line: str, comment: str) -> str:
    if not comment:
        return line
    return f"{line:<{COMMENT_COLUMN}}# {comment}" if len(line) < COMMENT_COLUMN \
        else f"{line}  # {comment}"


def _read_options(starter: Starter) -> list[str]:
    sample, read = starter.sample, []
    if sample.kind == "text" and sample.sep not in (None, ","):
        read.append(f"sep: {yaml_text(sample.sep or ',', flow=True)}")
    if sample.encoding != "utf-8":
        read.append(f"encoding: {sample.encoding}")
    if starter.dayfirst:
        read.append("dayfirst: true")
    return read


def unused_columns(starter: Starter) -> list[Column]:
    """The file's columns the config does not name, with why."""
    named = {starter.id, *(starter.sales or {}).values(),
             *(c.name for c in starter.clustered + starter.profile)}
    unused = []
    for name in starter.sample.frame.columns:
        column = next(c for c in starter.columns if c.name == name)
        if name in named:
            continue
        if starter.sales is not None and column.role == "numeric":
            column = Column(name, "excluded", "a value per sales line, not aggregated; add "
                            "it in SQL or a per-customer file if it matters")
        unused.append(column)
    return unused


def _title(stem: str) -> str:
    words = re.sub(r"[_\-.]+", " ", stem).strip()
    if not words:
        return "Customer segments"
    what = "segments" if "customer" in words.lower() else "customer segments"
    return f"{words[:1].upper()}{words[1:]}: {what}"


def _relative(path: Path, folder: Path) -> str:
    """Relative to the config when the data lives close by (the pair can move together)."""
    try:
        relative = os.path.relpath(path, folder)
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if relative.startswith(f"..{os.sep}..{os.sep}") else relative
