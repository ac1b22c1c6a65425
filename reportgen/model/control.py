"""The control group of each segment's audience: customers kept out of the campaign, so
that the next period can measure what the campaign did against what they did.

A customer's place is a keyed hash of (report, period, customer id) under the report's
secret key (folders.control_key): the same on a rerun, unchanged when the data's rows
are shuffled, and unpredictable without the key, so nobody can steer who is held out.
The split is stratified: in each segment the customers are ordered by their hash (ties by
id) and the first round(n x share) are the control group, so every segment's control
share is exact to one customer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reportgen.data.memory import text_budget
from reportgen.files import read_own_file
from reportgen.folders import CONTROL_KEY as KEY_NAME
from reportgen.model.continuity import Previous
from reportgen.record import restore_formulas

TREATMENT, CONTROL = "treatment", "control"


@dataclass(frozen=True)
class Assignment:
    """Who is held out, row-aligned with the segmented customers."""

    share: float
    control: np.ndarray  # bool, one a customer
    counts: dict[int, tuple[int, int]]  # segment id -> (treatment, control)
    sign: Callable[[bytes], str]  # the report key's signature of the assignment file

    def groups(self) -> np.ndarray:
        return np.where(self.control, CONTROL, TREATMENT)


def customer_hashes(ids: pd.Series, key: bytes, report: str, period: str) -> np.ndarray:
    """A 64-bit keyed hash (BLAKE2b with the key) of each customer's id, in this period
    of this report: about a microsecond a customer."""
    prefix = f"{report}\0{period}\0".encode()
    out = np.empty(len(ids), dtype=np.uint64)
    for row, customer in enumerate(ids.astype(str).tolist()):
        digest = hashlib.blake2b(prefix + customer.encode(), key=key, digest_size=8).digest()
        out[row] = int.from_bytes(digest, "big")
    return out


def assign(ids: pd.Series, labels: np.ndarray, share: float, key: bytes, report: str,
           period: str) -> Assignment:
    """Each segment's control group: round(n x share) of its n customers, by hash."""
    hashes = customer_hashes(ids, key, report, period)
    text = ids.astype(str).to_numpy()
    control = np.zeros(len(ids), dtype=bool)
    counts = {}
    for segment in np.unique(labels):
        members = np.flatnonzero(labels == segment)
        held = int(np.floor(len(members) * share + 0.5))
        order = members[np.lexsort((text[members], hashes[members]))]
        control[order[:held]] = True
        counts[int(segment)] = (len(members) - held, held)
    return Assignment(share, control, counts, lambda payload: signature(key, payload))


def signature(key: bytes, payload: bytes) -> str:
    """HMAC-SHA256 of an assignment file under the report's key: next period refuses a
    file edited by hand (or one of another report's)."""
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def canonical(record: dict[str, Any]) -> bytes:
    """The bytes an assignment's signature is over: its record without the signature,
    keys sorted."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


RECORD_FILE, CUSTOMERS_FILE = "audiences/assignment.json", "audiences/assignment.csv"
MAX_RECORD_BYTES = 2**20


@dataclass(frozen=True)
class HeldOut:
    """A period's control groups, read back and checked: who was in which group of
    which segment, from which day on, and the action each segment was given."""

    period: str
    since: dt.date
    share: float
    segments: list[dict[str, Any]]  # id, name, actions, treatment, control
    customers: pd.DataFrame  # id (as in the data), segment, group


def read_assignment(folder: Path, key: bytes, report: str, limit: float) -> HeldOut:
    """A period's assignment files, refused (ValueError saying why, in words for the
    page) unless the report's key signed exactly this record and the customers' file is
    the one it names. JSON and CSV only: nothing read here can run code."""
    try:
        record = json.loads(read_own_file(folder / RECORD_FILE, MAX_RECORD_BYTES))
        claimed = record.pop("signature")
    except (OSError, ValueError, KeyError, AttributeError, TypeError) as exc:
        raise ValueError(f"{RECORD_FILE} cannot be read ({exc})") from exc
    if not isinstance(claimed, str) or not hmac.compare_digest(
            signature(key, canonical(record)), claimed):
        raise ValueError(f"{RECORD_FILE} was changed after it was written (its signature "
                         "does not match), or is another report's")
    if record.get("report") != report or record.get("format") != "reportgen-assignment":
        raise ValueError(f"{RECORD_FILE} is another report's")
    try:
        data = read_own_file(folder / CUSTOMERS_FILE, int(min(limit, 2**40)))
    except OSError as exc:
        raise ValueError(f"{CUSTOMERS_FILE} cannot be read ({exc})") from exc
    if hashlib.sha256(data).hexdigest() != record["customers_sha256"]:
        raise ValueError(f"{CUSTOMERS_FILE} was changed after it was written")
    customers = pd.read_csv(io.BytesIO(data), dtype={"id": str, "group": str},
                            keep_default_na=False)
    customers["id"] = restore_formulas(customers["id"])
    return HeldOut(record["period"], dt.date.fromisoformat(record["since"]),
                   float(record["share"]), list(record["segments"]), customers)


def last_period_groups(previous: Previous | None, key: bytes | None, report: str
                       ) -> tuple[HeldOut | None, str | None]:
    """Last period's control groups, if it held any out: (the groups, None), or (None, why
    they cannot be used) when its files are missing, were changed or cannot be checked
    (`key`: the report's, None when it has none); (None, None) when there were none."""
    if previous is None:
        return None, None
    recorded = previous.summary is not None and previous.summary.control is not None
    if not (previous.folder / RECORD_FILE).exists():
        return None, (f"{RECORD_FILE} is missing from {previous.period}'s folder"
                      if recorded else None)
    if key is None:
        return None, (f"the report's key ({KEY_NAME}) is missing, so {previous.period}'s "
                      f"{RECORD_FILE} cannot be checked")
    try:
        return read_assignment(previous.folder, key, report, text_budget(1.0)), None
    except ValueError as exc:
        return None, str(exc)
