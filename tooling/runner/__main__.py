"""`python -m tooling.runner` (what `make run` calls)."""

import sys

from tooling.runner.system import main

sys.exit(main())
