"""JSON log lines, one object per line, with the service they came from and the trace.

`configure_logging(service)` is each process's observability set-up: JSON lines on stdout,
the tracer (`shared.tracing`, on unless `DD_TRACE_ENABLED=false`) and, on every line
written inside a span, `dd.trace_id`/`dd.span_id` so Datadog joins logs to traces.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any

from shared import httpclients, tracing

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service
        self.env = os.environ.get("DD_ENV", "local")
        self.version = os.environ.get("DD_VERSION", "dev")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service,
            "env": self.env,
            "version": self.version,
            "dd.service": self.service,
            "dd.env": self.env,
            "dd.version": self.version,
        }
        entry.update(tracing.log_context())
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(service: str, level: str | None = None) -> None:
    httpclients.remember_missing_sniffio()
    tracing.configure(service)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))
    for noisy in ("httpx", "httpcore", "psycopg.pool", "aiormq", "aio_pika"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
