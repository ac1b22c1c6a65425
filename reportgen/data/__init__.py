"""The data stage: a data file or a SQL query to one row a customer (sales lines
aggregated, derived columns added), every configured column checked against the data.

Loaded lazily: the CLI imports data/memory.py before the config is read, and importing
the stage's pandas code there held up the config, and so the PDF process started after
it, by 0.6 s on every run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reportgen.data.customers import Customers, load_customers

__all__ = ["Customers", "load_customers"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from reportgen.data import customers

        return getattr(customers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
