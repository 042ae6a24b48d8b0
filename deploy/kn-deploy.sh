#!/usr/bin/env bash
# Deploy with kn, from the manifests in knative/ and eventing/.
#
#   deploy/kn-deploy.sh [--dry-run] [--tag TAG] [--no-build] all
#   deploy/kn-deploy.sh [--dry-run] [--tag TAG] [--no-build] SERVICE...
#
# SERVICE...: builds and loads those functions' images, then `kn service apply` for each;
#   nothing else is touched (the other functions keep their revisions and traffic).
# all: every function and the eventing wiring, in this order:
#   - the RabbitmqBrokerConfig (YAML: kn has no command for it) and the dead-letter function
#     (`kn broker create --dl-sink ksvc:dead-letter` looks it up: it must exist first),
#   - the Broker, ONCE, complete: `kn broker create --class RabbitMQBroker --broker-config
#     ... --retry ... --backoff-policy ... --backoff-delay ... --dl-sink ...`. A
#     RabbitMQBroker's spec is immutable: on a re-run an existing Broker is compared with
#     eventing/broker.yaml and left alone if it matches; if not, the run stops and says how
#     to delete and recreate it (docs/cluster.md, "Changing the Broker"),
#   - the SinkBinding (YAML), every other function, each Trigger with `kn trigger create`
#     (`kn trigger update` without --broker on a re-run), or as YAML when it sets what kn
#     has no flag for (annotations: parallelism, the dispatcher's resources), then the
#     PingSources (YAML) whose sinks, the outbox relay and receivables, now exist,
#   - then waits until everything it deployed is Ready, and fails naming what is not.
# TAG defaults to the commit (deploy/lib.sh); it becomes the image tag and DD_VERSION.
set -euo pipefail
# shellcheck source=deploy/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

parse_args "--tag --no-build" take_name "$@"
[ "${#NAMES[@]}" -gt 0 ] || usage_error
resolve_tag
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

DEAD_LETTER=dead-letter

deploy_broker_config() {
  local config name
  config="$(plan broker-config)" || die "cannot read the manifests"
  for name in $config; do
    say "RabbitmqBrokerConfig $name (YAML: kn has no command for it)"
    plan doc RabbitmqBrokerConfig "$name" | kc_stdin "RabbitmqBrokerConfig $name" apply -f -
  done
}

# The Broker is created once with its whole delivery spec; its spec can never be updated.
deploy_broker() {
  local live differences
  if live="$(kq get broker default --namespace "$NAMESPACE" -o json 2>/dev/null)"; then
    if differences="$(printf '%s' "$live" | plan broker-drift default)"; then
      say "Broker default exists and matches eventing/broker.yaml"
      return 0
    fi
    printf '%s\n' "$differences" >&2
    die "Broker default differs from eventing/broker.yaml, and a RabbitMQBroker's spec cannot be changed in place. Delete and recreate it (docs/cluster.md, 'Changing the Broker'): kn broker delete default -n $NAMESPACE, then run this again"
  fi
  say "Broker default (class, config, retries, backoff, dead-letter sink: all at once)"
  plan_args broker-create-args default
  knc broker create "${ARGS[@]}"
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
      if knq trigger describe "$name" --namespace "$NAMESPACE" >/dev/null 2>&1; then
        say "Trigger $name exists: kn trigger update (its broker and filter cannot change)"
        plan_args trigger-update-args "$name"
        knc trigger update "${ARGS[@]}"
      else
        say "Trigger $name"
        knc trigger create "${ARGS[@]:2}"
      fi
    else
      say "Trigger $name (YAML: it sets what kn has no flag for)"
      plan doc Trigger "$name" | kc_stdin "Trigger $name" apply -f -
    fi
  done 3<"$RECORDS"
  rm -f "$RECORDS"
}

if [ "$ALL" = 1 ]; then
  build_images
else
  build_images "${NAMES[@]}"
fi

if [ "$ALL" = 1 ]; then
  deploy_broker_config
  deploy_services "$DEAD_LETTER"
  deploy_broker
  say "SinkBinding (K_SINK for publishing functions)"
  kc apply -f "$ACOUGUE_REPO/knative/sinkbinding.yaml"
  # The SinkBinding injects K_SINK only once it has resolved the Broker's address: wait, so
  # that every publisher's first revision has it (the relay does not start without it).
  kc wait broker/default --namespace "$NAMESPACE" --for=condition=Ready --timeout=300s
  kc wait sinkbinding --all --namespace "$NAMESPACE" --for=condition=Ready --timeout=300s
  OTHERS=()
  for name in "${NAMES[@]}"; do
    [ "$name" = "$DEAD_LETTER" ] || OTHERS+=("$name")
  done
  deploy_services "${OTHERS[@]}"
  deploy_triggers
  say "PingSources (the outbox relay's minute, the receivables' morning)"
  kc apply -f "$ACOUGUE_REPO/knative/pingsources.yaml"
  verify_ready
  say "Deployed. kn service list -n $NAMESPACE; kn trigger list -n $NAMESPACE"
else
  deploy_services "${NAMES[@]}"
  say "Deployed ${NAMES[*]} at $TAG; the other functions are untouched."
  note "Roll back one: deploy/rollback.sh NAME   (kn service update NAME --traffic REVISION=100)"
fi
