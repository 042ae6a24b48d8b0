"""`python -m tooling.runner` (what `make run` calls).

Guarded: each function forked from the warm template (warm.py) imports this module as its
`__mp_main__`, and must neither start a runner nor import one.
"""

import sys

if __name__ == "__main__":
    from tooling.runner.system import main

    sys.exit(main())
