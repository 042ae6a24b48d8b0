"""What the cluster's admission webhooks refuse, as a model read from upstream data.

The rules come from `upstream/admission.json` (Knative Serving 1.22.1, Eventing 1.22.2 and
eventing-rabbitmq knative-v1.22.1 at their pinned commits; every fact carries its source).
Two uses: the tests check every manifest against them, and the fake `kn`/`kubectl` ask
`admit()` before every write, so that a deploy step that would be refused fails here too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tests.k8s.cpu_budget import parse_quantity

UPSTREAM = Path(__file__).parent / "upstream" / "admission.json"
REPO = Path(__file__).resolve().parents[2]
RABBITMQ_BROKER = "RabbitMQBroker"
BROKER_CLASS = "eventing.knative.dev/broker.class"
PARALLELISM = "rabbitmq.eventing.knative.dev/parallelism"
RESOURCE_ANNOTATIONS = {
    f"rabbitmq.eventing.knative.dev/{what}-{kind}"
    for what in ("cpu", "memory")
    for kind in ("request", "limit")
}
IMMUTABLE = "Immutable fields changed (-old +new)"
# Where the setup would enable Knative features: a config-features patch kind-setup.sh
# applies (there is none today; a manifest may then use only what is on by default).
FEATURES_PATCH = REPO / "deploy" / "knative" / "config-features.yaml"
_GATED = re.compile(r"^(?P<field>[A-Za-z]+) \((?P<flag>[a-z.-]+)")
ENABLED = {"enabled", "allowed"}


@cache
def data() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(UPSTREAM.read_text(encoding="utf-8"))
    return loaded


def effective_features() -> dict[str, str]:
    """Serving's config-features as the setup leaves it: the release's defaults, plus the
    patch kind-setup.sh applies, if it applies one."""
    features = {
        k: str(v).lower()
        for k, v in data()["serving"]["features_defaults"].items()
        if k not in ("source", "notes")
    }
    setup = (REPO / "kind-setup.sh").read_text(encoding="utf-8")
    if FEATURES_PATCH.exists() and "config-features" in setup:
        patch = yaml.safe_load(FEATURES_PATCH.read_text(encoding="utf-8"))
        features.update({k: str(v).lower() for k, v in patch.get("data", {}).items()})
    return features


def _allowed(kind: str) -> dict[str, Any]:
    found: dict[str, Any] = data()["serving"]["allowed_fields"][kind]
    return found


def _names(entries: list[str]) -> set[str]:
    """'automountServiceAccountToken (only the value false)' -> the field's name."""
    return {entry.split(" ")[0] for entry in entries}


def _gate(kind: str, field: str) -> str | None:
    """The config-features flag that admits `field` of `kind`, None when always allowed."""
    for gated in data()["serving"]["feature_gated_fields"]:
        path = str(gated["path"])
        if path.endswith(f".{field}") and _path_kind(path) == kind:
            return str(gated["flag"]).split(" ")[0]
    return None


def _path_kind(path: str) -> str:
    if ".env[].valueFrom." in path:
        return "EnvVarSource"
    if path.startswith("spec.template.spec.volumes[]."):
        return "Volume"
    if ".containers[].securityContext.capabilities." in path:
        return "Capabilities"
    if path.count(".") == 3 and path.startswith("spec.template.spec."):
        return "PodSpec"
    return ""


def _check_fields(
    kind: str, body: Mapping[str, Any], where: str, features: Mapping[str, str]
) -> Iterator[str]:
    allowed = _allowed(kind)
    always = _names(allowed.get("always", []))
    gated = _names(allowed.get("gated", []))
    for field in body:
        if field in always:
            continue
        flag = _gate(kind, field)
        if field in gated or flag:
            if flag is None:
                flag = _flag_from_text(allowed, field)
            if flag and features.get(flag, "disabled") in ENABLED:
                continue
            yield (
                f"{where}.{field}: must not set the field(s) (Knative Serving admits it only"
                f" with config-features {flag or '?'} enabled; the setup leaves it"
                f" {features.get(flag or '', 'disabled')})"
            )
        else:
            yield f"{where}.{field}: must not set the field(s) (not in Knative's {kind} mask)"


def _flag_from_text(allowed: Mapping[str, Any], field: str) -> str | None:
    for entry in allowed.get("gated", []):
        match = _GATED.match(str(entry))
        if match and match["field"] == field:
            return match["flag"]
    text = str(allowed.get("gated_all_by", "")) or str(allowed.get("flag", ""))
    return text.split(" ")[0] or None


def serving_refusals(service: Mapping[str, Any], features: Mapping[str, str]) -> list[str]:
    """What Serving's webhook would refuse in a Knative Service's template."""
    found: list[str] = []
    template = service.get("spec", {}).get("template", {})
    pod = template.get("spec", {})
    found += _check_fields(
        "PodSpec", {k: v for k, v in pod.items() if k not in _REVISION}, "spec", features
    )
    if pod.get("automountServiceAccountToken") is True:
        found.append("spec.automountServiceAccountToken: only false is allowed")
    if "securityContext" in pod:
        found += _check_fields(
            "PodSecurityContext", pod["securityContext"], "spec.securityContext", features
        )
    bounds = data()["serving"]["revision_spec"]
    timeout = int(pod.get("timeoutSeconds", 0))
    if not bounds["timeoutSeconds"]["min"] <= timeout <= bounds["timeoutSeconds"]["max"]:
        found.append(
            f"spec.timeoutSeconds: {timeout} is outside 0..{bounds['timeoutSeconds']['max']}"
        )
    concurrency = int(pod.get("containerConcurrency", 0))
    if (
        not bounds["containerConcurrency"]["min"]
        <= concurrency
        <= bounds["containerConcurrency"]["max"]
    ):
        found.append(f"spec.containerConcurrency: {concurrency} is out of range")
    volumes = {v.get("name"): v for v in pod.get("volumes", [])}
    for volume in volumes.values():
        found += _check_fields("Volume", volume, f"spec.volumes[{volume.get('name')}]", features)
    mounted: set[str] = set()
    for i, box in enumerate(pod.get("containers", [])):
        where = f"spec.containers[{i}]"
        found += _check_fields("Container", box, where, features)
        for env in box.get("env", []):
            source = env.get("valueFrom")
            if source:
                found += _check_fields(
                    "EnvVarSource", source, f"{where}.env[{env['name']}].valueFrom", features
                )
        security = box.get("securityContext", {})
        found += _check_fields("SecurityContext", security, f"{where}.securityContext", features)
        if security.get("privileged") is True:
            found.append(f"{where}.securityContext.privileged: only false is allowed")
        caps = security.get("capabilities", {})
        found += _check_fields(
            "Capabilities", caps, f"{where}.securityContext.capabilities", features
        )
        for port in box.get("ports", []):
            found += _check_fields("ContainerPort", port, f"{where}.ports[]", features)
        for mount in box.get("volumeMounts", []):
            mounted.add(mount.get("name"))
            volume = volumes.get(mount.get("name"))
            if volume is None:
                found.append(f"{where}.volumeMounts[{mount.get('name')}]: no such volume")
            elif not mount.get("readOnly") and not (
                {"emptyDir", "persistentVolumeClaim"} & set(volume)
            ):
                found.append(f"{where}.volumeMounts[{mount.get('name')}]: must be readOnly")
    for name in set(volumes) - mounted:
        found.append(f"spec.volumes[{name}]: every volume must be mounted")
    annotations = service.get("metadata", {}).get("annotations", {})
    if any(k.startswith("autoscaling.knative.dev/") for k in annotations):
        found.append("metadata.annotations: autoscaling annotations belong on spec.template")
    return found


# Revision-level fields Knative adds to the PodSpec (RevisionSpec), not PodSpec fields.
_REVISION = {
    "containerConcurrency",
    "timeoutSeconds",
    "idleTimeoutSeconds",
    "responseStartTimeoutSeconds",
}


def trigger_refusals(trigger: Mapping[str, Any]) -> list[str]:
    """eventing-rabbitmq's Trigger rules on create (when its Broker is a RabbitMQBroker)."""
    found: list[str] = []
    annotations = trigger.get("metadata", {}).get("annotations", {}) or {}
    if PARALLELISM in annotations:
        value = str(annotations[PARALLELISM])
        if not value.isdigit() or not 1 <= int(value) <= 1000:
            found.append(f"{PARALLELISM}: {value!r} is not an integer from 1 to 1000")
    quantities: dict[str, Decimal] = {}
    for key in RESOURCE_ANNOTATIONS & set(annotations):
        try:
            quantities[key] = parse_quantity(str(annotations[key]))
        except ValueError:
            found.append(f"{key}: {annotations[key]!r} is not a quantity")
    for what in ("cpu", "memory"):
        request = quantities.get(f"rabbitmq.eventing.knative.dev/{what}-request")
        limit = quantities.get(f"rabbitmq.eventing.knative.dev/{what}-limit")
        if request is not None and limit is not None and request > limit:
            found.append(f"{what} request is above its limit")
    return found


def _broker_facts(body: Mapping[str, Any]) -> dict[str, Any]:
    if "spec" in body or "metadata" in body:  # a Kubernetes object
        spec = body.get("spec", {})
        return {
            "class": body.get("metadata", {}).get("annotations", {}).get(BROKER_CLASS),
            "config": spec.get("config"),
            "delivery": spec.get("delivery"),
        }
    return {k: body.get(k) for k in ("class", "config", "delivery")}  # fake kn's stored form


def _trigger_facts(body: Mapping[str, Any]) -> dict[str, Any]:
    if "spec" in body or "metadata" in body:
        spec = body.get("spec", {})
        return {
            "broker": spec.get("broker"),
            "filter": spec.get("filter", {}).get("attributes", {}),
        }
    return {"broker": body.get("broker"), "filter": body.get("filter") or {}}


def admit(kind: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> str | None:
    """None when the write is admitted; else the webhook's refusal. Objects are Kubernetes
    bodies or the fake kn's stored form (see fake_kn)."""
    if new is None:
        return None
    if kind == "Broker" and old is not None:
        before, after = _broker_facts(old), _broker_facts(new)
        if before["class"] != after["class"]:
            return f"{IMMUTABLE}: metadata.annotations[{BROKER_CLASS}] (Knative Eventing)"
        if RABBITMQ_BROKER in (before["class"], after["class"]) and before != after:
            return f"{IMMUTABLE}: spec (eventing-rabbitmq: a RabbitMQBroker's spec)"
    if kind == "Trigger":
        if "metadata" in new:
            refusals = trigger_refusals(new)
            if refusals:
                return "; ".join(refusals)
        if old is not None:
            before, after = _trigger_facts(old), _trigger_facts(new)
            if before["broker"] != after["broker"]:
                return f"{IMMUTABLE}: spec.broker (Knative Eventing)"
            if before["filter"] != after["filter"]:
                return f"{IMMUTABLE}: spec.filter (eventing-rabbitmq)"
    if kind == "RabbitmqBrokerConfig" and old is not None and old.get("spec") != new.get("spec"):
        return f"{IMMUTABLE}: spec (eventing-rabbitmq: RabbitmqBrokerConfig)"
    if kind == "Service" and "spec" in new and "template" in new.get("spec", {}):
        refusals = serving_refusals(new, effective_features())
        if refusals:
            return "validation failed: " + "; ".join(refusals)
    return None
