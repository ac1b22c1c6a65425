"""reportgen: customer-segmentation reports from a YAML config.

`run_report(config_path, **overrides)` renders a report; the `reportgen` command is a thin
shell over it. Imports are lazy so that the command line starts instantly.
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_report", "send_report", "validate"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from reportgen import api

        return getattr(api, name)
    raise AttributeError(name)
