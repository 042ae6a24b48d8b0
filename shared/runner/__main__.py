"""`python -m shared.runner` (what `make run` calls)."""

import sys

from shared.runner.system import main

sys.exit(main())
