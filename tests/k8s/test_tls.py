"""HTTPS in the cluster (issue 14): the gateway's external address is https://, and the
refresh cookie that auth sets through it is `Secure`.

The mechanism, at the pinned versions (provenance in the manifests' comments):
- Knative Serving 1.22.1 has net-certmanager built in: with `external-domain-tls: Enabled` in
  config-network, its controller asks cert-manager for one Certificate per Service with an
  external domain, from the issuer config-certmanager names (deploy/knative/config-*.yaml);
- that issuer is a local CA bootstrapped by a self-signed ClusterIssuer
  (deploy/knative/tls-issuers.yaml), since sslip.io names cannot pass an ACME challenge;
- Kourier serves the certificate on its HTTPS listener (8443), which Kind maps to the host's 443;
  `http-protocol: Redirected` sends plain HTTP to https://.

The path a login takes in the cluster, hop by hop, and what each does to X-Forwarded-Proto:
browser --TLS--> Kourier (external listener) --> [activator] --> queue-proxy --> gateway
--plain HTTP--> Kourier (internal listener) --> [activator] --> queue-proxy --> auth.
Knative's activator and queue-proxy (Go reverse proxies) leave the header alone; Envoy does
not: with xff_num_trusted_hops 0 (Kourier's `trusted-hops-count` default) it overwrites the
header with the scheme of the connection it received. Modelled below from Envoy's
documentation, and the real gateway and auth code run on the result.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.requests import Request

from tests.k8s.support import NAMESPACE, REPO, Doc, knative_services, of_kind

KNATIVE_PATCHES = REPO / "deploy" / "knative"
# net-kourier knative-v1.22.0, config/200-config.yaml: `trusted-hops-count: "0"`.
KOURIER_DEFAULT_TRUSTED_HOPS = 0
GATEWAY_HOST = f"gateway.{NAMESPACE}.127.0.0.1.sslip.io"


def _patch(name: str) -> dict[str, Any]:
    """deploy/knative/NAME.yaml's data (a merge patch kind-setup.sh applies), {} if none."""
    path = KNATIVE_PATCHES / f"{name}.yaml"
    if not path.is_file():
        return {}
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")).get("data") or {}
    return data


def _setup_patches(name: str) -> bool:
    setup = (REPO / "kind-setup.sh").read_text(encoding="utf-8")
    return (
        f"patch configmap {name} --namespace knative-serving" in setup
        and f'"$DEPLOY_DIR/knative/{name}.yaml"' in setup
    )


def envoy(headers: dict[str, str], *, tls: bool, trusted_hops: int) -> dict[str, str]:
    """What Kourier's Envoy (envoyproxy/envoy v1.37 in net-kourier's config/300-gateway.yaml)
    forwards: "Downstream x-forwarded-proto headers will only be trusted if
    xff_num_trusted_hops is non-zero. If xff_num_trusted_hops is zero, downstream
    x-forwarded-proto headers and :scheme headers will be set to http or https based on if the
    downstream connection is TLS or not." (Envoy docs, HTTP header manipulation,
    x-forwarded-proto.) Kourier sets xff_num_trusted_hops from config-kourier's
    trusted-hops-count on every listener (pkg/envoy/api/http_connection_manager.go)."""
    out = dict(headers)
    if trusted_hops == 0 or "x-forwarded-proto" not in out:
        out["x-forwarded-proto"] = "https" if tls else "http"
    return out


def trusted_hops() -> int:
    if not _setup_patches("config-kourier"):
        return KOURIER_DEFAULT_TRUSTED_HOPS
    return int(_patch("config-kourier").get("trusted-hops-count", KOURIER_DEFAULT_TRUSTED_HOPS))


async def _gateway_forwards(incoming: dict[str, str]) -> dict[str, str]:
    """The headers the real gateway (functions/gateway/proxy.py) sends auth for a login that
    reached it with `incoming` (uvicorn behind the queue-proxy on 127.0.0.1)."""
    from functions.gateway.proxy import Upstreams

    sent: dict[str, str] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        sent.update({k.lower(): v for k, v in request.headers.items()})
        return httpx.Response(200, json={})

    upstreams = Upstreams({"auth": f"http://auth.{NAMESPACE}.svc.cluster.local"}, timeout=5)
    await upstreams.aclose()
    upstreams._client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    body = b'{"username": "admin", "password": "x"}'
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "scheme": incoming.get("x-forwarded-proto", "http"),  # uvicorn's proxy_headers
        "path": "/api/auth/login",
        "raw_path": b"/api/auth/login",
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in incoming.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8080),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        await upstreams.forward(Request(scope, receive), "auth")
    finally:
        await upstreams.aclose()
    return sent


def _auth_marks_secure(headers: dict[str, str]) -> bool:
    """functions/auth/main.py's own `_secure(request)`, in a process with the environment
    knative/services/auth.yaml gives the function (as test_consistency starts each one)."""
    from shared.auth.tokens import generate_private_key_pem
    from tests.k8s.test_consistency import manifest_environment

    (auth,) = [d for d in knative_services() if d.name == "auth"]
    code = (
        "import json, sys\n"
        "from starlette.requests import Request\n"
        "import functions.auth.main as auth\n"
        "headers = json.loads(sys.stdin.read())\n"
        "scope = {'type': 'http', 'method': 'POST', 'scheme': 'http', 'path': '/login',\n"
        "         'query_string': b'', 'client': ('10.244.0.9', 5000),\n"
        "         'headers': [(k.encode(), v.encode()) for k, v in headers.items()]}\n"
        "print(json.dumps(auth._secure(Request(scope))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=manifest_environment(auth, generate_private_key_pem()),
        input=json.dumps(headers),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    secure: bool = json.loads(done.stdout.strip().splitlines()[-1])
    return secure


async def test_the_refresh_cookie_is_secure_for_a_login_through_kourier_with_tls() -> None:
    hops = trusted_hops()
    # The browser's request (a browser sends no X-Forwarded-Proto), TLS to Kourier's
    # external listener.
    at_gateway = envoy(
        {"host": GATEWAY_HOST, "content-type": "application/json"}, tls=True, trusted_hops=hops
    )
    assert at_gateway["x-forwarded-proto"] == "https"
    sent = await _gateway_forwards(at_gateway)
    assert sent.get("x-forwarded-proto") == "https", "the gateway passes the scheme on"
    # The gateway's call to auth: plain HTTP through Kourier's internal listener.
    at_auth = envoy(sent, tls=False, trusted_hops=hops)
    assert at_auth["x-forwarded-proto"] == "https", (
        "Kourier's internal listener overwrote X-Forwarded-Proto (trusted-hops-count "
        f"{hops}): auth would set the refresh cookie without Secure"
    )
    assert _auth_marks_secure(at_auth)


def test_auth_still_marks_plain_http_not_secure() -> None:
    """The local exception (make run on http://localhost:8080) and the control of the test
    above: a request that came over plain HTTP all the way gets no Secure cookie."""
    plain = envoy({"host": "auth"}, tls=False, trusted_hops=trusted_hops())
    assert plain["x-forwarded-proto"] == "http"
    assert not _auth_marks_secure(plain)


def test_plain_http_to_the_gateway_is_redirected_to_https() -> None:
    """No browser request reaches a function over plain HTTP through Kourier's external
    listener (so trusting one hop's X-Forwarded-Proto there grants nothing): Kourier answers
    301 to https:// (its redirect route, pkg/generator/ingress_translator.go, for external
    visibility only) when config-network says http-protocol Redirected."""
    network = _patch("config-network")
    assert _setup_patches("config-network")
    assert network.get("external-domain-tls") == "Enabled"
    assert network.get("http-protocol") == "Redirected"
    assert network.get("ingress-class") == "kourier.ingress.networking.knative.dev"
    # The deprecated spelling would also switch it on; one spelling only.
    assert "auto-tls" not in network


def test_config_certmanager_names_the_local_ca_issuer() -> None:
    assert _setup_patches("config-certmanager")
    ref = yaml.safe_load(_patch("config-certmanager")["issuerRef"])
    assert ref["kind"] == "ClusterIssuer"
    issuers = {d.name: d for d in of_kind("ClusterIssuer", "cert-manager.io")}
    assert ref["name"] in issuers, f"no ClusterIssuer {ref['name']} in deploy/"
    ca = issuers[ref["name"]].body["spec"]["ca"]
    # The CA's certificate: a cert-manager Certificate in cert-manager's cluster resource
    # namespace, writing the Secret the CA issuer reads, signed by the self-signed issuer.
    (certificate,) = [
        d
        for d in of_kind("Certificate", "cert-manager.io")
        if d.body["spec"]["secretName"] == ca["secretName"]
    ]
    assert certificate.namespace == "cert-manager"
    assert certificate.body["spec"]["isCA"] is True
    signer = certificate.body["spec"]["issuerRef"]
    assert signer["kind"] == "ClusterIssuer"
    assert issuers[signer["name"]].body["spec"] == {"selfSigned": {}}


def test_kind_maps_host_port_443_to_kouriers_https_listener() -> None:
    (cluster,) = of_kind("Cluster", "kind.x-k8s.io")
    (node,) = cluster.body["nodes"]
    mappings = {m["hostPort"]: m for m in node["extraPortMappings"]}
    assert 443 in mappings, "host port 443 is where https:// URLs without a port arrive"
    assert mappings[443]["listenAddress"] == "127.0.0.1"
    (kourier,) = [s for s in of_kind("Service", "") if s.namespace == "kourier-system"]
    ports = {p["nodePort"]: p for p in kourier.body["spec"]["ports"]}
    https = ports[mappings[443]["containerPort"]]
    assert https["targetPort"] == 8443, "Kourier's Envoy serves external TLS on 8443"


def test_only_the_gateway_has_an_external_domain() -> None:
    """Certificates are made for external domains only; every other function stays
    cluster-local (plain HTTP inside the cluster, behind the NetworkPolicies)."""
    external = [
        d.name
        for d in knative_services()
        if d.body["metadata"].get("labels", {}).get("networking.knative.dev/visibility")
        != "cluster-local"
    ]
    assert external == ["gateway"]


@pytest.mark.parametrize("path", ["README.md", "docs/cluster.md"])
def test_docs_give_the_https_address_and_the_local_exception(path: str) -> None:
    text = (REPO / path).read_text(encoding="utf-8")
    assert f"http://{GATEWAY_HOST}" not in text, "the cluster's address is https:// now"
    if path == "docs/cluster.md":
        assert f"https://{GATEWAY_HOST}" in text
        assert "## TLS" in text or "TLS\n" in text
        assert "localhost" in text


def _doc_ids(docs: list[Doc]) -> list[str]:
    return [d.id for d in docs]


def test_the_tls_manifests_are_where_kind_setup_applies_them() -> None:
    setup = (REPO / "kind-setup.sh").read_text(encoding="utf-8")
    assert '"$DEPLOY_DIR/knative/tls-issuers.yaml"' in setup
    files = {Path(d.rel) for d in of_kind("ClusterIssuer", "cert-manager.io")}
    files |= {Path(d.rel) for d in of_kind("Certificate", "cert-manager.io")}
    assert files == {Path("deploy/knative/tls-issuers.yaml")}, _doc_ids(
        of_kind("ClusterIssuer", "cert-manager.io")
    )
