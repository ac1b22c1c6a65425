"""The starter config, written from config.yaml.j2: the template lays the YAML out, one
filter quotes (`yaml`: bare when that reads back as the same text, else double-quoted),
and one aligns the comments that give each choice its reason.

Column and file names come from the data, which whoever sent the file wrote: a header
holding a line break followed by `email: {to: [...]}` would, put into a comment as it is,
add a section to the user's config. So every value the template prints passes `inert`
(jinja2's finalize), which writes line breaks and other control characters as escapes;
and the text written is read back and compared with the mapping init meant to write
(`intended`) before it is saved. A difference is refused, never written.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

import jinja2
import yaml

from reportgen.config.roles import MEANINGS, Binding, bind_by_meaning
from reportgen.errors import DataError, one_line
from reportgen.starter.inspect import IDENTIFIER_RE, Column, Starter, ref, slug

COMMENT_COLUMN = 32


def render_config(starter: Starter, target: Path) -> str:
    """The starter config's text, checked to read back as what it was meant to say."""
    context = _context(starter, target)
    text = _environment().get_template("config.yaml.j2").render(**context).rstrip() + "\n"
    check_reads_back(text, intended(starter, context), starter.sample.path)
    return text


def _context(starter: Starter, target: Path) -> dict[str, Any]:
    from reportgen.config.docs import SCHEMA_PATH

    sample = starter.sample
    stem = sample.path.name.split(".")[0]
    return {
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
        "roles": starter_roles(starter),
    }


def starter_roles(starter: Starter) -> dict[str, Binding]:
    """The roles of a customer table, bound by meaning over the columns the config keeps
    as numbers (sales lines have the RFM columns, which the rfm preset names itself)."""
    if starter.sales is not None:
        return {}
    numeric = [c.name for c in starter.clustered] + [
        c.name for c in starter.profile if c.role != "category"]
    return bind_by_meaning(MEANINGS, numeric)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent)), autoescape=False,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True, finalize=inert)
    env.filters.update(yaml=yaml_text, comment=commented)
    return env


def inert(value: Any) -> Any:
    """Every printed value on one line: a comment cannot be ended early, and a quoted
    scalar's escapes (`\\u2028`, `\\x7f`) read back as the characters they stand for."""
    return one_line(value, limit=10**6) if isinstance(value, str) else value


def intended(starter: Starter, context: dict[str, Any]) -> dict[str, Any]:
    """The mapping the template is meant to write, built from the same facts: what the
    written text must read back as."""
    config: dict[str, Any] = {"report": {"name": context["name"], "title": context["title"]}}
    data: dict[str, Any] = {"path": context["path"]}
    if starter.id:
        data["id"] = starter.id
    if context["read"]:
        data["read"] = _read_mapping(starter)
    config["data"] = data
    if starter.sales:
        sales = starter.sales
        block: dict[str, Any] = {role: sales[role] for role in ("customer", "invoice", "date")
                                 if role in sales}
        if starter.sales_look_cancelled:
            block["cancel_prefix"] = None
        if "quantity" in sales and "price" in sales:
            block |= {"quantity": sales["quantity"], "price": sales["price"]}
        else:
            block["amount"] = context["amount"]
        config["transactions"] = block | {"as_of": "auto"}
        config["features"] = {
            "numeric": ["recency_days", "frequency", "monetary", "avg_order_value"],
            "profile": ["tenure_days", *(c.name for c in starter.profile)],
            "labels": {"recency_days": "days since last purchase",
                       "avg_order_value": "average order value",
                       "tenure_days": "days since first purchase"}}
        config["value"] = {"horizon_months": 12, "backtest": {"calibration_end": "auto"}}
    else:
        if starter.derive:
            config["derive"] = {name: expression for name, expression, _ in starter.derive}
        features: dict[str, Any] = (
            {"numeric": [c.name for c in starter.clustered]} if starter.clustered else
            {"categorical": [c.name for c in starter.profile if c.role == "category"]})
        features["log"] = list(context["logged"])
        if context["profile"]:
            features["profile"] = [c.name for c in context["profile"]]
        if starter.labels:
            features["labels"] = dict(starter.labels)
        config["features"] = features
    config["segmentation"] = {"k": [2, 8], "select": "stable"}
    config["personas"] = {"preset": context["preset"]}
    config["recommendations"] = {"preset": context["preset"]}
    if context["roles"]:
        config["roles"] = {role: b.column for role, b in context["roles"].items()}
    config["output"] = {"dir": "reports"}
    return config


def _read_mapping(starter: Starter) -> dict[str, Any]:
    sample = starter.sample
    read: dict[str, Any] = {}
    if sample.kind == "text" and sample.sep not in (None, ","):
        read["sep"] = sample.sep
    if sample.columns:
        read["columns"] = list(sample.columns)
    if sample.decimal != ".":
        read["decimal"] = sample.decimal
    if sample.thousands is not None:
        read["thousands"] = sample.thousands
    if sample.encoding != "utf-8":
        read["encoding"] = sample.encoding
    if starter.dayfirst:
        read["dayfirst"] = True
    return read


def check_reads_back(text: str, meant: dict[str, Any], source: Path) -> None:
    """Refuse to write a config whose text says something other than `meant` (a column or
    file name that escaped its quoting), rather than let the data write the config."""
    from reportgen.config.yamltext import load_text

    try:
        found = load_text(text)
    except (ValueError, yaml.YAMLError) as exc:
        found = f"unreadable YAML ({one_line(str(exc), 200)})"
    if found != meant:
        raise DataError(f"{one_line(source.name, 200)}: a column or file name would change "
                        "what the starter config says, so it was not written; rename the "
                        "columns (or the file) to plain names and run init again")


def yaml_text(value: str, flow: bool = False) -> str:
    """A YAML scalar: bare when that reads back as the same string, else double-quoted.
    In a flow list ([a, b]) only identifiers stay bare."""
    if flow:
        return value if IDENTIFIER_RE.match(value) else json.dumps(value, ensure_ascii=False)
    from reportgen.config.yamltext import load_text

    try:
        if load_text(value) == value and not value.startswith(("`", "#")) \
                and ": " not in value and " #" not in value:
            return value
    except (ValueError, yaml.YAMLError):
        pass
    return json.dumps(value, ensure_ascii=False)


def commented(line: str, comment: str) -> str:
    if not comment:
        return line
    return f"{line:<{COMMENT_COLUMN}}# {comment}" if len(line) < COMMENT_COLUMN \
        else f"{line}  # {comment}"


def _read_options(starter: Starter) -> list[str]:
    return [f"{key}: {_flow(value)}" for key, value in _read_mapping(starter).items()]


def _flow(value: object) -> str:
    if isinstance(value, str):
        return yaml_text(value, flow=True)
    if isinstance(value, list):
        return "[" + ", ".join(yaml_text(str(v), flow=True) for v in value) + "]"
    return "true"


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
