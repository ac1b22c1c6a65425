"""The per-customer files the report stage makes: the audiences for activation, the
lists a CRM or ad platform imports: one CSV per segment and the customers who changed
segment since the last period (with `value:` only).

`audiences/<id>-<persona>.csv`: id, persona, value, p_alive, most valuable first.
`audiences/movers.csv`: id, from and to (segment id and persona), value, p_alive, their
last 12 months' spend and spend_at_risk (that spend x (1 - P(alive)): what the business
stands to lose if they have gone), highest spend_at_risk first. With no earlier period it
has its header only, so an import job always finds it. deliver/audiences.py writes them,
with the same spreadsheet-formula protection of ids and names as segments.csv.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from reportgen.model.control import TREATMENT, canonical
from reportgen.record import VALUE_DIGITS, neutralise_formulas
from reportgen.report.content import ReportContent
from reportgen.report.worth import Worth

FOLDER = "audiences"
MOVERS = "movers.csv"
MOVER_COLUMNS = ["id", "from_segment", "from_persona", "to_segment", "to_persona", "value",
                 "p_alive", "last_year_spend", "spend_at_risk"]


def audiences(content: ReportContent, ids: pd.Series) -> dict[str, pd.DataFrame]:
    """audiences/<id>-<persona>.csv per segment, most valuable first, and movers.csv;
    none without the value stage. With a control group, each segment's file gains
    `group` and `<id>-<persona>.treatment.csv` holds the treatment group only, for the
    CRM upload."""
    worth = content.worth
    if worth is None:
        return {}
    names = content.names
    frame = _customers(worth, ids, names)
    columns = ["id", "persona", "value", "p_alive"]
    if content.control is not None:
        frame["group"] = content.control.groups()
    out = {}
    for sid, name in names.items():
        members = frame[frame["segment"].to_numpy() == sid]
        members = members.sort_values("value", ascending=False, kind="stable")
        base = f"{FOLDER}/{sid}-{slug(name)}"
        if content.control is None:
            out[f"{base}.csv"] = members[columns]
            continue
        out[f"{base}.csv"] = members[[*columns, "group"]]
        out[f"{base}.treatment.csv"] = members.loc[members["group"] == TREATMENT, columns]
    out[f"{FOLDER}/{MOVERS}"] = movers(content, frame)
    return out


def _customers(worth: Worth, ids: pd.Series, names: Mapping[int, str]) -> pd.DataFrame:
    figures = worth.customers
    return pd.DataFrame({
        "id": ids.reset_index(drop=True), "segment": figures["segment"].to_numpy(),
        "persona": [names[int(s)] for s in figures["segment"].to_numpy()],
        "value": figures["value"].to_numpy().round(VALUE_DIGITS["value"]),
        "p_alive": figures["p_alive"].to_numpy().round(VALUE_DIGITS["p_alive"]),
        "last_year_spend": figures["last_year_spend"].to_numpy().round(2),
    })


def movers(content: ReportContent, customers: pd.DataFrame) -> pd.DataFrame:
    changes = content.changes
    moved = changes.migration.movers if changes is not None else None
    if moved is None or moved.empty:
        return pd.DataFrame(columns=MOVER_COLUMNS)
    old_names = {f.from_id: f.from_name for f in changes.migration.flows} if changes else {}
    now = customers.assign(id=customers["id"].astype("string"))
    joined = moved.merge(now, on="id", how="inner")
    joined["spend_at_risk"] = (joined["last_year_spend"] * (1 - joined["p_alive"])).round(2)
    table = pd.DataFrame({
        "id": joined["id"], "from_segment": joined["from_id"],
        "from_persona": [old_names.get(int(i), f"Segment {i}") for i in joined["from_id"]],
        "to_segment": joined["to_id"], "to_persona": joined["persona"],
        "value": joined["value"], "p_alive": joined["p_alive"],
        "last_year_spend": joined["last_year_spend"], "spend_at_risk": joined["spend_at_risk"],
    })
    order = np.lexsort((-table["value"].to_numpy(), -table["spend_at_risk"].to_numpy()))
    return table.iloc[order].reset_index(drop=True)


def slug(name: str) -> str:
    """A persona's name as a file name: `Can't lose them` -> `cant-lose-them`."""
    text = re.sub(r"[^a-z0-9]+", "-", name.lower().replace("'", "")).strip("-")
    return text[:60] or "segment"


ASSIGNMENT = "assignment"  # audiences/assignment.csv and .json: who was held out


def assignment_files(content: ReportContent, ids: pd.Series) -> dict[str, bytes]:
    """The period's control groups as the next period reads them: assignment.csv (id,
    segment, group; ids protected as in segments.csv) and assignment.json, which
    holds the csv's sha256, the date the groups start from, each segment's action and
    counts, and the report key's signature of all of it. None without a control group."""
    control, worth, sales = content.control, content.worth, content.data.sales
    if control is None or worth is None or sales is None:
        return {}
    table = pd.DataFrame({"id": neutralise_formulas(ids.reset_index(drop=True).astype(str)),
                          "segment": worth.customers["segment"].to_numpy(),
                          "group": control.groups()})
    customers = table.to_csv(index=False, lineterminator="\n").encode("utf-8")
    record = {
        "format": "reportgen-assignment", "version": 1, "report": content.report.name,
        "period": content.period, "since": sales.as_of.isoformat(), "share": control.share,
        "customers": len(table), "customers_sha256": hashlib.sha256(customers).hexdigest(),
        "segments": [{"id": s.id, "name": s.name,
                      "actions": [r.action for r in s.recommendations],
                      "treatment": control.counts[s.id][0], "control": control.counts[s.id][1]}
                     for s in content.segments],
    }
    signed = {**record, "signature": control.sign(canonical(record))}
    return {f"{FOLDER}/{ASSIGNMENT}.csv": customers,
            f"{FOLDER}/{ASSIGNMENT}.json": (json.dumps(signed, indent=2, ensure_ascii=False)
                                            + "\n").encode("utf-8")}
