"""`reportgen init`: a commented starter config from a look at a data file.

It reads a sample (the first rows), works out how the file is written (encoding,
delimiter, day-first dates), what each column is (an id, a date, a measure, a category,
free text) and whether rows are customers or sales lines (inspect.py), and writes a config
that runs as it is, from the template config.yaml.j2 (render.py). Every choice is
explained in a comment beside it, because the user will edit it: the point is a good
first report and a config that teaches its own keys.
"""

from __future__ import annotations

import os
from pathlib import Path

from reportgen.errors import OutputError
from reportgen.starter.inspect import Starter, inspect, slug
from reportgen.starter.render import render_config

__all__ = ["Starter", "write_starter"]


def write_starter(data_file: Path, config_file: Path | None = None,
                  force: bool = False) -> tuple[Path, Starter]:
    """Inspect the file and write the config next to where the user asked; return both."""
    data_file = data_file.expanduser().resolve()
    target = (config_file or Path(f"{slug(data_file.name.split('.')[0]) or 'report'}.yaml"))
    target = target.expanduser().resolve()
    if target.exists() and not force:
        raise OutputError(f"{target} already exists; choose another name with -o or add "
                          "--force to replace it")
    starter = inspect(data_file)
    text = render_config(starter, target)
    temporary = target.with_name(f".{target.name}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    return target, starter
