"""``python -m linli`` = the ``linli`` command (for a checkout without the console script)."""

import sys

from linli.cli import main

sys.exit(main())
