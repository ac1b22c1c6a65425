"""`python -m reportgen` is the same as the `reportgen` command."""

from reportgen.cli import entry

if __name__ == "__main__":  # not when a spawned process (multiprocessing) imports it
    entry()
