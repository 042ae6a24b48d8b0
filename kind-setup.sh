#!/usr/bin/env bash
# The Açougue cluster from nothing, on a laptop with Docker: Kind + Knative + RabbitMQ.
#
#   ./kind-setup.sh [--dry-run] [--tag TAG] [up]   create or update everything (default)
#   ./kind-setup.sh [--dry-run] teardown           delete the Kind cluster and all in it
#   ./kind-setup.sh status                         what runs (kn service/broker/trigger list)
#
# `up` is idempotent: run it again after a change and it reuses the cluster, keeps the
# generated passwords, rebuilds the images and redeploys. It installs, in order: a Kind
# cluster (Kubernetes 1.34, host ports 80 and 443 -> Kourier), cert-manager with a local CA
# (the gateway's HTTPS certificate), Knative Serving + net-kourier (HTTPS for external
# domains), Knative Eventing, the RabbitMQ cluster and messaging-topology operators,
# eventing-rabbitmq, the namespace acougue-system with a RabbitmqCluster and PostgreSQL
# (StatefulSet), the Datadog Agent (DaemonSet; only with DD_API_KEY set), then builds one
# image per domain, loads them into Kind, runs the migrations (a Job) and deploys every
# function, the Broker and the Triggers with kn (deploy/kn-deploy.sh).
# Versions: deploy/versions.env. The guide: docs/cluster.md.
#
# Environment: DD_API_KEY (and DD_SITE) for Datadog; ACOUGUE_ADMIN_PASSWORD for the first
# admin (else generated, shown once); ACOUGUE_CLUSTER (default acougue); DRY_RUN=1.
set -euo pipefail
# shellcheck source=deploy/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/deploy/lib.sh"

COMMAND=up
# take_command ARG (for parse_args): what to do.
take_command() {
  case "$1" in
  up | teardown | status) COMMAND="$1" ;;
  *) return 1 ;;
  esac
}
parse_args --tag take_command "$@"
export DRY_RUN

RELEASES_SERVING="https://github.com/knative/serving/releases/download/knative-v$KNATIVE_SERVING_VERSION"
RELEASES_KOURIER="https://github.com/knative-extensions/net-kourier/releases/download/knative-v$KNATIVE_NET_KOURIER_VERSION"
RELEASES_EVENTING="https://github.com/knative/eventing/releases/download/knative-v$KNATIVE_EVENTING_VERSION"
RELEASES_EVENTING_RABBITMQ="https://github.com/knative-extensions/eventing-rabbitmq/releases/download/knative-v$EVENTING_RABBITMQ_VERSION"
CERT_MANAGER_YAML="https://github.com/cert-manager/cert-manager/releases/download/v$CERT_MANAGER_VERSION/cert-manager.yaml"
CLUSTER_OPERATOR_YAML="https://github.com/rabbitmq/cluster-operator/releases/download/v$RABBITMQ_CLUSTER_OPERATOR_VERSION/cluster-operator.yml"
TOPOLOGY_OPERATOR_YAML="https://github.com/rabbitmq/messaging-topology-operator/releases/download/v$RABBITMQ_TOPOLOGY_OPERATOR_VERSION/messaging-topology-operator-with-certmanager.yaml"
POSTGRES_HOST="postgres.$NAMESPACE.svc.cluster.local"

# -- prerequisites -----------------------------------------------------------------------
install_hint() {
  case "$1" in
  docker) echo "Docker Engine or Docker Desktop: https://docs.docker.com/get-docker/" ;;
  kind) echo "kind v$KIND_MIN_VERSION or newer: https://kind.sigs.k8s.io/docs/user/quick-start/#installation" ;;
  kubectl) echo "kubectl 1.34 or newer: https://kubernetes.io/docs/tasks/tools/" ;;
  kn) echo "the Knative CLI kn 1.22 or newer: https://knative.dev/docs/client/install-kn/" ;;
  esac
}

check_prerequisites() {
  local missing=() tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    printf 'missing prerequisites: %s\n' "${missing[*]}" >&2
    for tool in "${missing[@]}"; do
      printf '  - %s: %s\n' "$tool" "$(install_hint "$tool")" >&2
    done
    if is_dry_run; then
      warn "dry run: continuing without them (a real run stops here)"
    else
      exit 1
    fi
  fi
  if is_dry_run; then
    return 0
  fi
  case " $* " in
  *" docker "*) docker info >/dev/null 2>&1 || die "docker is installed but its daemon does not answer: start Docker" ;;
  esac
  case " $* " in
  *" kind "*)
    local have
    have="$(kind version 2>/dev/null | sed -n 's/.*v\([0-9][0-9.]*\).*/\1/p' | head -n 1)"
    version_ge "${have:-0}" "$KIND_MIN_VERSION" ||
      die "kind ${have:-?} is too old: kind v$KIND_MIN_VERSION or newer boots Kubernetes 1.34 nodes"
    ;;
  esac
}

ensure_python() {
  if pick_python; then
    return 0
  fi
  say "No Python with PyYAML yet: setting up the project's .venv (make .venv/.installed)"
  run make -C "$ACOUGUE_REPO" .venv/.installed
  if is_dry_run; then
    PY="$ACOUGUE_REPO/.venv/bin/python"
    [ -x "$PY" ] || die "dry run: the plan needs the project's .venv; run 'make .venv/.installed' first"
  fi
  need_python
}

# -- steps --------------------------------------------------------------------------------
create_cluster() {
  local clusters
  clusters="$(query kind get clusters 2>/dev/null || true)"
  if has_line "$clusters" "$CLUSTER_NAME"; then
    say "Kind cluster $CLUSTER_NAME exists: reusing it"
  else
    say "Kind cluster $CLUSTER_NAME ($KIND_NODE_IMAGE, host ports 80 and 443 -> Kourier)"
    run kind create cluster --name "$CLUSTER_NAME" --image "$KIND_NODE_IMAGE" \
      --config "$DEPLOY_DIR/kind/cluster.yaml" --wait 180s
  fi
}

wait_ready() { # wait_ready NAMESPACE: every Deployment there Available
  kc wait deployment --all --for=condition=Available --timeout=600s --namespace "$1"
}

# cert-manager first: the RabbitMQ topology operator's webhooks need it, and so does Knative
# Serving's controller once external-domain-tls is on (it exits at start without its CRDs).
install_cert_manager() {
  say "cert-manager $CERT_MANAGER_VERSION"
  retry 3 kc apply -f "$CERT_MANAGER_YAML"
  wait_ready cert-manager
  say "A local CA for HTTPS (ClusterIssuer acougue-ca; trust its certificate: docs/cluster.md, TLS)"
  # cert-manager's webhook may refuse the first apply while it starts.
  retry 5 kc apply -f "$DEPLOY_DIR/knative/tls-issuers.yaml"
  kc wait certificate/acougue-ca --namespace cert-manager --for=condition=Ready --timeout=180s
  kc wait clusterissuer/acougue-ca --for=condition=Ready --timeout=180s
}

install_serving() {
  say "Knative Serving $KNATIVE_SERVING_VERSION + net-kourier $KNATIVE_NET_KOURIER_VERSION"
  retry 3 kc apply -f "$RELEASES_SERVING/serving-crds.yaml"
  kc wait crd --all --for=condition=Established --timeout=180s
  retry 3 kc apply -f "$RELEASES_SERVING/serving-core.yaml"
  retry 3 kc apply -f "$RELEASES_KOURIER/kourier.yaml"
  wait_ready knative-serving
  wait_ready kourier-system
  kc patch configmap config-certmanager --namespace knative-serving --type merge \
    --patch-file "$DEPLOY_DIR/knative/config-certmanager.yaml"
  kc patch configmap config-kourier --namespace knative-serving --type merge \
    --patch-file "$DEPLOY_DIR/knative/config-kourier.yaml"
  kc patch configmap config-network --namespace knative-serving --type merge \
    --patch-file "$DEPLOY_DIR/knative/config-network.yaml"
  kc patch configmap config-domain --namespace knative-serving --type merge \
    --patch-file "$DEPLOY_DIR/knative/config-domain.yaml"
  kc patch configmap config-deployment --namespace knative-serving --type merge \
    --patch-file "$DEPLOY_DIR/knative/config-deployment.yaml"
  # The controller reads external-domain-tls only when it starts: restart it after the patch.
  kc rollout restart deployment/controller --namespace knative-serving
  kc rollout status deployment/controller --namespace knative-serving --timeout=300s
  kc apply -f "$DEPLOY_DIR/knative/kourier-nodeport.yaml"
}

install_eventing() {
  say "Knative Eventing $KNATIVE_EVENTING_VERSION"
  retry 3 kc apply -f "$RELEASES_EVENTING/eventing-crds.yaml"
  kc wait crd --all --for=condition=Established --timeout=180s
  retry 3 kc apply -f "$RELEASES_EVENTING/eventing-core.yaml"
  wait_ready knative-eventing
}

install_rabbitmq_operators() {
  say "RabbitMQ cluster operator $RABBITMQ_CLUSTER_OPERATOR_VERSION"
  retry 5 kc apply -f "$CLUSTER_OPERATOR_YAML"
  wait_ready rabbitmq-system
  say "RabbitMQ messaging topology operator $RABBITMQ_TOPOLOGY_OPERATOR_VERSION"
  retry 5 kc apply -f "$TOPOLOGY_OPERATOR_YAML"
  wait_ready rabbitmq-system
  say "eventing-rabbitmq knative-v$EVENTING_RABBITMQ_VERSION (the RabbitMQBroker class)"
  retry 3 kc apply -f "$RELEASES_EVENTING_RABBITMQ/rabbitmq-broker.yaml"
  wait_ready knative-eventing
}

install_namespace_and_rabbitmq() {
  say "Namespace $NAMESPACE and its RabbitmqCluster"
  kc apply -f "$DEPLOY_DIR/cluster/namespace.yaml"
  say "NetworkPolicies: default-deny ingress in $NAMESPACE, then only who must talk"
  kc apply -f "$DEPLOY_DIR/cluster/networkpolicies.yaml"
  retry 5 kc apply -f "$ACOUGUE_REPO/eventing/rabbitmqcluster.yaml"
}

create_secrets() {
  secret_dir
  local domains domain password upper from=()
  domains="$(plan db-domains)" || die "cannot read the manifests"
  say "Secrets (generated once, kept across runs; never written to the repository)"
  if secret_exists "$NAMESPACE" acougue-postgres; then
    note "acougue-postgres: exists"
  else
    password="$(random_secret)"
    secret_file postgres-password "$password"
    secret_file postgres-url "postgresql://postgres:$password@$POSTGRES_HOST:5432/acougue"
    put_secret "$NAMESPACE" acougue-postgres \
      "password=$SECRET_DIR/postgres-password" "url=$SECRET_DIR/postgres-url"
  fi
  for domain in $domains; do
    password="$(secret_value "$NAMESPACE" "acougue-db-$domain" password)"
    if [ -n "$password" ]; then
      note "acougue-db-$domain: exists"
    else
      password="$(random_secret)"
      secret_file "db-$domain-password" "$password"
      secret_file "db-$domain-url" \
        "postgresql://acougue_$domain:$password@$POSTGRES_HOST:5432/acougue"
      put_secret "$NAMESPACE" "acougue-db-$domain" \
        "url=$SECRET_DIR/db-$domain-url" "password=$SECRET_DIR/db-$domain-password"
    fi
    upper="$(printf '%s' "$domain" | tr '[:lower:]' '[:upper:]')"
    secret_file "ACOUGUE_DB_PASSWORD_$upper" "$password"
    from+=("ACOUGUE_DB_PASSWORD_$upper=$SECRET_DIR/ACOUGUE_DB_PASSWORD_$upper")
  done
  # One Secret with every domain role's password, for the migration Job's envFrom.
  put_secret "$NAMESPACE" acougue-db-passwords ${from[@]+"${from[@]}"}
  if secret_exists "$NAMESPACE" acougue-auth-keys; then
    note "acougue-auth-keys: exists"
  else
    # An Ed25519 key made by the project's own code, inside the image just built.
    local keygen="from shared.auth.tokens import generate_private_key_pem as g; print(g(), end='')"
    printf '%s > %s\n' "$(show docker run --rm --entrypoint python \
      "kind.local/acougue/migrate:$TAG" -c "$keygen")" "$SECRET_DIR/signing-key.pem"
    if ! is_dry_run; then
      (umask 077 && docker run --rm --entrypoint python "kind.local/acougue/migrate:$TAG" \
        -c "$keygen" >"$SECRET_DIR/signing-key.pem")
    fi
    put_secret "$NAMESPACE" acougue-auth-keys "signing-key.pem=$SECRET_DIR/signing-key.pem"
  fi
  # The first admin's password: yours (ACOUGUE_ADMIN_PASSWORD) or a random one, kept only
  # in this Secret (the migration Job never prints one); the first login must change it.
  if [ -n "${ACOUGUE_ADMIN_PASSWORD:-}" ]; then
    secret_file admin-password "$ACOUGUE_ADMIN_PASSWORD"
    put_secret "$NAMESPACE" acougue-admin "password=$SECRET_DIR/admin-password"
  elif secret_exists "$NAMESPACE" acougue-admin; then
    note "acougue-admin: exists"
  else
    secret_file admin-password "$(random_secret)"
    put_secret "$NAMESPACE" acougue-admin "password=$SECRET_DIR/admin-password"
    note "acougue-admin: generated; read it once with: kubectl -n $NAMESPACE get secret" \
      "acougue-admin -o jsonpath='{.data.password}' | base64 -d"
  fi
}

install_postgres() {
  say "PostgreSQL (StatefulSet with a PersistentVolumeClaim)"
  kc apply -f "$DEPLOY_DIR/cluster/postgres.yaml"
  kc rollout status statefulset/postgres --namespace "$NAMESPACE" --timeout=300s
}

install_datadog() {
  if [ -z "${DD_API_KEY:-}" ]; then
    say "Datadog Agent: skipped (DD_API_KEY is not set)"
    note "The functions run the same; their traces to DD_AGENT_HOST:8126 are simply dropped."
    note "To add it: DD_API_KEY=... [DD_SITE=datadoghq.eu] ./kind-setup.sh"
    return 0
  fi
  secret_dir
  say "Datadog Agent $DATADOG_AGENT_IMAGE (DaemonSet; APM :8126 behind the node-local Service datadog-agent.datadog)"
  if ! kq get namespace datadog >/dev/null 2>&1; then
    kc create namespace datadog
  fi
  secret_file dd-api-key "$DD_API_KEY"
  local keys=("api-key=$SECRET_DIR/dd-api-key")
  if [ -n "${DD_SITE:-}" ]; then
    secret_file dd-site "$DD_SITE"
    keys+=("site=$SECRET_DIR/dd-site")
  fi
  put_secret datadog datadog-secret "${keys[@]}"
  kc apply -f "$DEPLOY_DIR/datadog/agent.yaml"
  kc rollout status daemonset/datadog-agent --namespace datadog --timeout=300s
}

summary() {
  say "Done. The shop: https://gateway.$NAMESPACE.127.0.0.1.sslip.io/"
  note "HTTPS:       signed by the cluster's own CA; trust it once (docs/cluster.md, TLS):"
  note "             kubectl --context $KUBE_CONTEXT get secret acougue-ca -n cert-manager -o jsonpath='{.data.ca\\.crt}' | base64 -d > acougue-ca.crt"
  note "Functions:   kn service list -n $NAMESPACE"
  note "Scale:       kubectl get pods -n $NAMESPACE -w   (functions start on the first request)"
  note "Deploy one:  deploy/kn-deploy.sh create-product"
  note "Roll back:   deploy/rollback.sh create-product"
  note "Tear down:   ./kind-setup.sh teardown"
}

cmd_up() {
  check_prerequisites docker kind kubectl kn
  ensure_python
  resolve_tag
  if is_dry_run; then
    say "Dry run: the plan for cluster $CLUSTER_NAME (context $KUBE_CONTEXT), images tagged $TAG"
  fi
  create_cluster
  install_cert_manager
  install_serving
  install_eventing
  install_rabbitmq_operators
  install_namespace_and_rabbitmq
  # shellcheck disable=SC2119 # no SERVICE: every image
  build_images
  create_secrets
  install_postgres
  install_datadog
  kc wait rabbitmqcluster/rabbitmq --namespace "$NAMESPACE" \
    --for=condition=AllReplicasReady --timeout=600s
  "$DEPLOY_DIR/migrate.sh" --tag "$TAG" --no-build
  "$DEPLOY_DIR/kn-deploy.sh" --tag "$TAG" --no-build all
  summary
}

cmd_teardown() {
  check_prerequisites kind
  say "Deleting the Kind cluster $CLUSTER_NAME (everything in it, data included)"
  run kind delete cluster --name "$CLUSTER_NAME"
  note "Images stay in Docker: docker image ls 'kind.local/acougue/*'"
}

cmd_status() {
  check_prerequisites kubectl kn
  knc service list --namespace "$NAMESPACE"
  knc broker list --namespace "$NAMESPACE"
  knc trigger list --namespace "$NAMESPACE"
  kc get pods --namespace "$NAMESPACE"
}

"cmd_$COMMAND"
