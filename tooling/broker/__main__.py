"""`python -m tooling.broker`: the local Knative Broker on BROKER_HOST:BROKER_PORT.

SIGINT/SIGTERM make uvicorn stop accepting, then the backend lets in-flight deliveries
finish (up to BROKER_SHUTDOWN_GRACE) or leaves them unacked for RabbitMQ to redeliver.
"""

from __future__ import annotations

import logging
import signal
import sys
from types import FrameType

import uvicorn
from pydantic import ValidationError
from pydantic_settings import SettingsError

from shared import tracing
from tooling.broker.app import create_app
from tooling.broker.rabbitmq import redacted
from tooling.broker.settings import BrokerSettings
from tooling.broker.wiring import ConfigurationError
from tooling.manifests import ManifestError, load_topology


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    """uvicorn re-raises the stop signal after its graceful shutdown; that is a clean exit."""
    raise SystemExit(0)


def main() -> int:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per delivery is ours
    log = logging.getLogger("acougue.broker")
    # Spans for the ingress (Starlette); each delivery is the broker's own span
    # (`cloudevents.deliver`, whose context the request carries), so httpx is not patched:
    # its span per attempt was one more of the same, and its wrapper cost every delivery.
    tracing.configure("broker", integrations=("starlette",))
    try:
        settings = BrokerSettings()
        app = create_app(settings, load_topology(settings.manifests_root))
    except (ValidationError, SettingsError, ConfigurationError, ManifestError) as exc:
        log.error("broker not started: %s", exc)
        return 2
    target = redacted(settings.amqp_url) if settings.amqp_url else "memory"
    log.info(
        "broker %s on http://%s:%d (backend: %s)",
        settings.broker_name,
        settings.host,
        settings.port,
        target,
    )
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, _exit_cleanly)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=int(settings.shutdown_grace) + 1,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
