"""The runner's scale-to-zero policy, read from the Knative Services as Knative reads it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tooling.manifests import load_topology
from tooling.runner.scaling import (
    MIN_SCALE,
    RETENTION,
    WINDOW,
    ScalePolicy,
    go_duration,
    policy_of,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("60s", 60.0), ("1m30s", 90.0), ("500ms", 0.5), ("1h", 3600.0), ("1.5s", 1.5)],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert go_duration(text) == seconds


@pytest.mark.parametrize("text", ["60", "", "1x", "s", "60s ", "-5s"])
def test_not_durations(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        go_duration(text)


def test_the_services_declare_what_the_runner_honours() -> None:
    """The gateway stays up (min-scale 1); every function scales to zero after the
    cluster-wide stable window, since none declares its own."""
    services = load_topology().services
    policies = {name: policy_of(svc, 60.0) for name, svc in services.items()}
    assert policies.pop("gateway") == ScalePolicy(min_scale=1, idle_window=60.0)
    functions = {n for n, s in services.items() if s.function_target}
    assert set(policies) == functions, "every other Service is a function"
    assert set(policies.values()) == {ScalePolicy(min_scale=0, idle_window=60.0)}


def test_a_services_own_window_and_retention_beat_the_default() -> None:
    svc = load_topology().services["complete-sale"]
    annotated = replace(svc, annotations={WINDOW: "10s", RETENTION: "1m", MIN_SCALE: "0"})
    assert policy_of(annotated, 60.0) == ScalePolicy(0, 70.0)
    assert policy_of(replace(svc, annotations={MIN_SCALE: "2"}), 30.0) == ScalePolicy(2, 30.0)


@pytest.mark.parametrize("window", ["5s", "2h"])
def test_a_window_outside_knatives_bounds_is_refused(window: str) -> None:
    svc = replace(load_topology().services["complete-sale"], annotations={WINDOW: window})
    with pytest.raises(ValueError, match="between 6s and 1h"):
        policy_of(svc, 60.0)
