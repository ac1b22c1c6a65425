"""Where the stages that touch every row run: the one place that reads `engine:`.

`open_rows` gives api.py the run's model/rows.Rows: the rows in this process
(model/pandasrows.py), read by pandas or, with `engine: spark` and sales lines, aggregated
by Spark first; or, with `engine: spark` and a customer table, kept on Spark from reading
to writing (spark/resident.py), the driver holding a sample.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from reportgen.config.schema import Config
from reportgen.data.customers import load_customers
from reportgen.model.pandasrows import PandasRows
from reportgen.model.rows import Rows


@contextmanager
def open_rows(config: Config, period: str, resident: bool = True,
              since: dt.date | None = None) -> Iterator[Rows]:
    """The run's rows, open for its stages. `resident`: False brings every engine's
    customers to this process (serve keeps them between edits, and Spark's session is the
    run's). `since`: the day last period's control groups were drawn from, whose
    outcomes the sales lines' customers come with (data.load_customers)."""
    if resident and config.engine.spark and config.transactions is None:
        from reportgen.engines.spark import open_customers

        with open_customers(config) as rows:
            yield rows
        return
    yield in_process(config, period, since)


def in_process(config: Config, period: str, since: dt.date | None = None) -> PandasRows:
    """The customers in this process, read by the configured engine."""
    if config.engine.spark:
        from reportgen.engines.spark import DriverRows

        return DriverRows(config, since)
    return PandasRows(partial(load_customers, config, period, since))  # period: SQL's dates


__all__ = ["in_process", "open_rows"]
