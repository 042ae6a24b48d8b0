"""Fault injection for the fault suite: die between a commit and its publish.

Python imports `sitecustomize` at start-up from the path; the local runner puts this folder
on a function's path only when the fault suite asks (`ACOUGUE_CHAOS_EXIT_AFTER_COMMIT`).
It lives under tests/, which no image carries, so no manifest can switch it on.
"""

from __future__ import annotations

import logging
import os
import random

from shared.db import uow

_SHARE = float(os.environ.get("CHAOS_EXIT_AFTER_COMMIT", "0"))
_log = logging.getLogger("acougue.uow")


def _maybe_exit() -> None:
    if random.random() < _SHARE:
        _log.warning("chaos: exiting between commit and publish")
        os._exit(137)


if _SHARE > 0:
    uow.UnitOfWork.after_commit = staticmethod(_maybe_exit)  # type: ignore[method-assign]
