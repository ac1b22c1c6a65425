"""`python -m reportgen` is the same as the `reportgen` command."""

import sys

from reportgen.cli import main

if __name__ == "__main__":  # not when a spawned helper process imports it (stability.py)
    sys.exit(main())
