"""A local stand-in for a Knative Broker, faithful to eventing-rabbitmq (knative-v1.22).

`create_app(BrokerSettings(), load_topology())` is the ingress; its lifespan runs the
backend: in memory (no AMQP_URL) or RabbitMQ laid out as eventing-rabbitmq does.
"""

from tooling.broker.app import create_app
from tooling.broker.settings import BrokerSettings
from tooling.broker.wiring import ConfigurationError

__all__ = ["BrokerSettings", "ConfigurationError", "create_app"]
