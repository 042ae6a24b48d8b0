"""`python -m tooling.broker` as a real process: start from manifests, stop cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import httpx

from tests.broker.harness import Recorder, binary_headers, delete_layout, new_id, unique_prefix
from tests.broker.specs import NAMESPACE
from tooling.broker.rabbitmq_layout import Layout
from tooling.broker.settings import BrokerSettings
from tooling.broker.wiring import wire
from tooling.manifests import REPO_ROOT, load_topology
from tooling.serving import free_port

SERVICE = f"""
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {{name: sub, namespace: {NAMESPACE}}}
spec:
  template:
    spec:
      containers:
        - image: acougue/test:dev
"""
EVENTING = f"""
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: default
  namespace: {NAMESPACE}
  annotations: {{eventing.knative.dev/broker.class: RabbitMQBroker}}
spec:
  delivery: {{retry: 1, backoffDelay: PT0.01S}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {{name: slow, namespace: {NAMESPACE}}}
spec:
  broker: default
  subscriber:
    ref: {{apiVersion: serving.knative.dev/v1, kind: Service, name: sub}}
    uri: /slow
"""


def _manifests(root: Path, service: str = SERVICE) -> Path:
    (root / "knative").mkdir()
    (root / "eventing").mkdir()
    (root / "knative" / "sub.yaml").write_text(service, encoding="utf-8")
    (root / "eventing" / "broker.yaml").write_text(EVENTING, encoding="utf-8")
    return root


async def _start(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tooling.broker",
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _until_ready(
    client: httpx.AsyncClient, url: str, process: asyncio.subprocess.Process
) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise AssertionError(f"broker exited with {process.returncode}")
        try:
            if (await client.get(f"{url}/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("broker never became ready")


async def test_sigterm_lets_the_in_flight_delivery_finish_then_exits_cleanly(
    amqp: str | None, recorder: Recorder, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    recorder.answer("/slow", 200, delay=1.0)
    port, prefix, event_id = free_port(), unique_prefix(), new_id()
    env = {
        "BROKER_PORT": str(port),
        "BROKER_MANIFESTS_ROOT": str(_manifests(tmp_path)),
        "BROKER_SERVICE_URLS": json.dumps({"sub": recorder.url}),
        "BROKER_RESOURCE_PREFIX": prefix,
        "AMQP_URL": amqp or "",
    }
    process = await _start(env)
    url = f"http://127.0.0.1:{port}"
    try:
        await _until_ready(client, url, process)
        assert (
            await client.post(url, headers=binary_headers(event_id), content=b"{}")
        ).status_code == 202
        await recorder.wait_for("/slow", 1)
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        if amqp:
            settings = BrokerSettings(manifests_root=tmp_path, service_urls={"sub": recorder.url})
            await delete_layout(amqp, Layout(prefix, wire(settings, load_topology(tmp_path))))
    log = stderr.decode()
    assert process.returncode == 0, log
    assert f"delivered event {event_id}" in log
    assert len(recorder.on("/slow")) == 1


async def test_a_trigger_naming_an_unknown_service_stops_start_up_with_a_clear_message(
    tmp_path: Path,
) -> None:
    process = await _start(
        {
            "BROKER_PORT": str(free_port()),
            "BROKER_MANIFESTS_ROOT": str(_manifests(tmp_path)),
            "BROKER_SERVICE_URLS": json.dumps({"event-log": "http://127.0.0.1:9"}),
            "AMQP_URL": "",
        }
    )
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 2
    assert (
        "Trigger slow refers to Service 'sub', which has no URL in BROKER_SERVICE_URLS"
        in stderr.decode()
    )
