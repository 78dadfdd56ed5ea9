"""``python -m tests.differential``: the long differential run (see runner.main)."""

import sys

from tests.differential.runner import main

sys.exit(main())
