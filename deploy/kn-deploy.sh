#!/usr/bin/env bash
# Deploy with kn, from the manifests in knative/ and eventing/.
#
#   deploy/kn-deploy.sh [--dry-run] [--tag TAG] [--no-build] all
#   deploy/kn-deploy.sh [--dry-run] [--tag TAG] [--no-build] SERVICE...
#
# SERVICE...: builds and loads those functions' images, then `kn service apply` for each;
#   nothing else is touched (the other functions keep their revisions and traffic).
# all: every function and the eventing wiring, in this order:
#   - the RabbitmqBrokerConfig (YAML: kn has no command for it), the Broker with
#     `kn broker create --class RabbitMQBroker --broker-config ...`, the SinkBinding (YAML),
#   - every function, then `kn broker update` with the delivery spec (retry, backoff and
#     the dead-letter sink, which kn looks up: it must exist), the PingSources (YAML),
#   - each Trigger with `kn trigger create --filter ... --sink ksvc:...`, or as YAML when
#     it sets what kn has no flag for (the rabbitmq parallelism annotation, a delivery spec).
# TAG defaults to the commit (deploy/lib.sh); it becomes the image tag and DD_VERSION.
set -euo pipefail
# shellcheck source=deploy/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"


TAG=""
BUILD=1
NAMES=()
while [ $# -gt 0 ]; do
  case "$1" in
  --dry-run | -n) DRY_RUN=1 ;;
  --no-build) BUILD=0 ;;
  --tag)
    [ $# -ge 2 ] || die "--tag needs a value"
    TAG="$2"
    shift
    ;;
  -h | --help)
    usage "${BASH_SOURCE[0]}"
    exit 0
    ;;
  -*)
    usage "${BASH_SOURCE[0]}" >&2
    exit 2
    ;;
  *) NAMES+=("$1") ;;
  esac
  shift
done
[ "${#NAMES[@]}" -gt 0 ] || {
  usage "${BASH_SOURCE[0]}" >&2
  exit 2
}
[ -n "$TAG" ] || TAG="$(default_tag)"
valid_tag "$TAG" || die "not a valid image tag: $TAG"
need_python

ALL=0
if [ "${NAMES[0]}" = all ]; then
  [ "${#NAMES[@]}" -eq 1 ] || die "'all' deploys everything: name no services with it"
  ALL=1
  services="$(plan services)" || die "cannot read the manifests"
  NAMES=()
  while read -r name; do
    [ -z "$name" ] || NAMES+=("$name")
  done <<EOF
$services
EOF
fi

deploy_broker() {
  local config name
  config="$(plan broker-config)" || die "cannot read the manifests"
  for name in $config; do
    say "RabbitmqBrokerConfig $name (YAML: kn has no command for it)"
    plan doc RabbitmqBrokerConfig "$name" | kc_stdin "RabbitmqBrokerConfig $name" apply -f -
  done
  if knq broker describe default --namespace "$NAMESPACE" >/dev/null 2>&1; then
    say "Broker default exists (its class and config cannot change)"
  else
    say "Broker default"
    plan_args broker-create-args default
    knc broker create "${ARGS[@]}"
  fi
}

# The delivery spec once its dead-letter sink exists (kn looks the sink up).
deploy_broker_delivery() {
  say "Broker default: delivery (retries, backoff, dead-letter sink)"
  plan_args broker-update-args default
  knc broker update "${ARGS[@]}"
}

deploy_services() {
  plan_records service-apply-args "$TAG" "$@"
  while next_record; do
    say "Knative Service ${ARGS[0]} (image tag $TAG)"
    knc service apply "${ARGS[@]}" --wait-timeout 300
  done 3<"$RECORDS"
  rm -f "$RECORDS"
}

deploy_triggers() {
  local mode name
  plan_records trigger-records
  while next_record; do
    mode="${ARGS[0]}"
    name="${ARGS[1]}"
    if [ "$mode" = kn ]; then
      ARGS=("${ARGS[@]:2}")
      if knq trigger describe "$name" --namespace "$NAMESPACE" >/dev/null 2>&1; then
        say "Trigger $name exists: kn trigger update"
        knc trigger update "${ARGS[@]}"
      else
        say "Trigger $name"
        knc trigger create "${ARGS[@]}"
      fi
    else
      say "Trigger $name (YAML: it sets what kn has no flag for)"
      plan doc Trigger "$name" | kc_stdin "Trigger $name" apply -f -
    fi
  done 3<"$RECORDS"
  rm -f "$RECORDS"
}

if [ "$BUILD" = 1 ]; then
  if [ "$ALL" = 1 ]; then
    "$DEPLOY_DIR/images.sh" --tag "$TAG"
  else
    "$DEPLOY_DIR/images.sh" --tag "$TAG" "${NAMES[@]}"
  fi
fi

if [ "$ALL" = 1 ]; then
  deploy_broker
  say "SinkBinding (K_SINK for publishing functions)"
  kc apply -f "$ACOUGUE_REPO/knative/sinkbinding.yaml"
fi
deploy_services "${NAMES[@]}"
if [ "$ALL" = 1 ]; then
  deploy_broker_delivery
  say "PingSources (the outbox sweeps)"
  kc apply -f "$ACOUGUE_REPO/knative/pingsources.yaml"
  deploy_triggers
  say "Deployed. kn service list -n $NAMESPACE; kn trigger list -n $NAMESPACE"
else
  say "Deployed ${NAMES[*]} at $TAG; the other functions are untouched."
  note "Roll back one: deploy/rollback.sh NAME   (kn service update NAME --traffic REVISION=100)"
fi
