"""Fault injection for the fault suite: die between a commit and its publish.

Python imports `sitecustomize` at start-up from the path; the local runner puts this folder
on a function's path only when the fault suite asks (`ACOUGUE_CHAOS_EXIT_AFTER_COMMIT` or
`ACOUGUE_CHAOS_EXIT_EVERY`). It lives under tests/, which no image carries, so no manifest
can switch it on.

`CHAOS_EXIT_EVERY=N` (N >= 2) is deterministic: the process dies right after its Nth commit
that has events to publish, so after each restart it takes N more. `CHAOS_EXIT_AFTER_COMMIT`
is a share of such commits, drawn at random.
"""

from __future__ import annotations

import logging
import os
import random

from shared.db import uow

_SHARE = float(os.environ.get("CHAOS_EXIT_AFTER_COMMIT", "0"))
_EVERY = int(os.environ.get("CHAOS_EXIT_EVERY", "0"))
_log = logging.getLogger("acougue.uow")
_commits = 0


def _maybe_exit() -> None:
    global _commits
    _commits += 1
    if (_EVERY and _commits % _EVERY == 0) or random.random() < _SHARE:
        _log.warning("chaos: exiting between commit and publish")
        os._exit(137)


if _SHARE > 0 or _EVERY > 0:
    uow.UnitOfWork.after_commit = staticmethod(_maybe_exit)  # type: ignore[method-assign]
