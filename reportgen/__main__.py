"""`python -m reportgen` is the same as the `reportgen` command."""

import sys

from .cli import main

sys.exit(main())
