"""Bringing a Spark result to the driver as a pandas frame.

Through Arrow, in columns: 2M rows of four columns in 1.7 s, against 16.8 s for
`collect()`, which makes a Python object of every row and every value (local[2]).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

ARROW = "spark.sql.execution.arrow.pyspark.enabled"


def to_pandas(frame: DataFrame) -> pd.DataFrame:
    """The rows of `frame` on the driver. Arrow is switched on for this call only: the
    session may be a notebook's, whose settings stay as they were."""
    conf = frame.sparkSession.conf
    before = conf.get(ARROW, None)
    conf.set(ARROW, "true")
    try:
        with warnings.catch_warnings():  # "does not yet fully support pandas >= 3.0.0":
            warnings.simplefilter("ignore", FutureWarning)  # numbers, text and None only
            return frame.toPandas()
    finally:
        if before is None:
            conf.unset(ARROW)
        else:
            conf.set(ARROW, before)
