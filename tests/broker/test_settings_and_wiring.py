"""Settings from the environment and wiring from manifests fail fast, with a clear message."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsError

from tests.broker.specs import delivery, topology, trigger
from tooling.broker import ConfigurationError, create_app
from tooling.broker.rabbitmq import redacted
from tooling.broker.settings import BrokerSettings
from tooling.broker.wiring import resolve, wire
from tooling.manifests import REPO_ROOT, DeliverySpec, Destination, load_topology


def test_defaults_select_the_memory_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AMQP_URL", "BROKER_HOST", "BROKER_PORT", "BROKER_SERVICE_URLS"):
        monkeypatch.delenv(name, raising=False)
    settings = BrokerSettings()
    assert (settings.host, settings.port, settings.backend_kind) == ("127.0.0.1", 8090, "memory")
    assert (settings.manifests_root, settings.resource_prefix, settings.broker_name) == (
        REPO_ROOT,
        "",
        "default",
    )


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKER_HOST", "192.0.2.10")
    monkeypatch.setenv("BROKER_PORT", "9001")
    monkeypatch.setenv("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    monkeypatch.setenv("BROKER_SERVICE_URLS", '{"event-log": "http://127.0.0.1:8101"}')
    monkeypatch.setenv("BROKER_RESOURCE_PREFIX", "ci-1.")
    settings = BrokerSettings()
    assert (settings.host, settings.port, settings.backend_kind) == ("192.0.2.10", 9001, "rabbitmq")
    assert settings.service_urls == {"event-log": "http://127.0.0.1:8101"}
    assert settings.resource_prefix == "ci-1."


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("port", 0),
        ("port", 70000),
        ("amqp_url", "http://127.0.0.1:5672"),
        ("service_urls", {"event-log": "127.0.0.1:8101"}),
        ("manifests_root", "/nonexistent/folder"),
        ("resource_prefix", "has space"),
        ("default_timeout", 0),
    ],
)
def test_bad_settings_fail_at_once(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        BrokerSettings.model_validate({field: value})


def test_service_urls_must_be_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROKER_SERVICE_URLS", "event-log=http://x")
    with pytest.raises(SettingsError, match="service_urls"):
        BrokerSettings()


def test_an_unknown_subscriber_service_fails_at_start_up_naming_it() -> None:
    settings = BrokerSettings(service_urls={"sub": "http://127.0.0.1:9"})
    wiring = topology([trigger("orders", {"type": "t"}, path="/x")], None)
    broken = topology([trigger("orders")], None)
    assert wire(settings, wiring).routes[0].subscriber_url == "http://127.0.0.1:9/x"
    with pytest.raises(ConfigurationError, match=r"Trigger orders refers to Service 'sub'"):
        wire(BrokerSettings(service_urls={"other": "http://127.0.0.1:9"}), broken)
    with pytest.raises(ConfigurationError, match="BROKER_SERVICE_URLS"):
        create_app(BrokerSettings(), broken)


def test_an_unknown_dead_letter_sink_service_fails_at_start_up() -> None:
    settings = BrokerSettings(service_urls={"sub": "http://127.0.0.1:9"})
    wire(settings, topology([trigger("orders")], delivery()))
    elsewhere = DeliverySpec(retry=1, dead_letter_sink=Destination(service="dead-letter"))
    with pytest.raises(
        ConfigurationError, match="Broker default deadLetterSink refers to Service 'dead-letter'"
    ):
        wire(settings, topology([trigger("orders")], elsewhere))


def test_an_unknown_broker_name_fails() -> None:
    with pytest.raises(ConfigurationError, match="no Broker named 'other'"):
        wire(BrokerSettings(broker_name="other"), topology([], None))


def test_destinations_join_service_url_and_path_or_take_an_absolute_uri() -> None:
    urls = {"event-log": "http://127.0.0.1:8101/"}
    assert resolve(Destination(service="event-log"), urls, "t") == "http://127.0.0.1:8101/"
    assert (
        resolve(Destination(service="event-log", uri="/in"), urls, "t")
        == "http://127.0.0.1:8101/in"
    )
    assert resolve(Destination(uri="http://elsewhere:1/x"), urls, "t") == "http://elsewhere:1/x"
    with pytest.raises(ConfigurationError, match="absolute"):
        resolve(Destination(uri="/relative"), urls, "t")


def test_the_repository_manifests_wire_with_every_service_given() -> None:
    repo = load_topology()
    urls = {name: f"http://127.0.0.1:{8100 + n}" for n, name in enumerate(sorted(repo.services))}
    wiring = wire(BrokerSettings(service_urls=urls), repo)
    assert wiring.broker == "default"
    assert all(route.subscriber_url.startswith("http://127.0.0.1:") for route in wiring.routes)
    assert {d.scope for d in wiring.dead_letters} <= {"broker", "trigger"}


def test_passwords_are_redacted_from_amqp_urls() -> None:
    assert redacted("amqp://guest:s3cret@rabbit:5672/") == "amqp://guest:******@rabbit:5672/"
    assert redacted("amqp://rabbit:5672/") == "amqp://rabbit:5672/"
