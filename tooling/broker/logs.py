"""The broker's one logger; formatting (JSON lines) is configured by whoever runs it."""

from __future__ import annotations

import logging

logger = logging.getLogger("acougue.broker")
