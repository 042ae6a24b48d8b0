#!/usr/bin/env bash
# Roll back ONE function: all of its traffic to one earlier revision, with kn.
#
#   deploy/rollback.sh [--dry-run] SERVICE [REVISION]   # default: the revision before the current one
#   deploy/rollback.sh [--dry-run] SERVICE --latest     # undo: the newest revision again
#
# Runs `kn service update SERVICE --traffic REVISION=100`. No new revision is made and no
# other function changes. Refused targets: a revision that is not Ready; for a function
# that publishes, one made before the SinkBinding gave it K_SINK (its events would never
# leave its outbox). With no REVISION, the newest older revision that passes is taken; when
# the traffic is split between revisions there is no single current one, so name it. The pin lasts until the next deploy of SERVICE
# (deploy/kn-deploy.sh SERVICE), whose manifest sends traffic to the latest revision.
set -euo pipefail
# shellcheck source=deploy/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

SERVICE=""
REVISION=""
LATEST=0
# take_arg ARG (for parse_args): --latest, then SERVICE, then REVISION.
take_arg() {
  case "$1" in
  --latest) LATEST=1 ;;
  -*) return 1 ;;
  *)
    if [ -z "$SERVICE" ]; then
      SERVICE="$1"
    elif [ -z "$REVISION" ]; then
      REVISION="$1"
    else
      return 1
    fi
    ;;
  esac
}
parse_args "" take_arg "$@"
[ -n "$SERVICE" ] || usage_error
need_python
services="$(plan services)" || die "cannot read the manifests"
has_line "$services" "$SERVICE" || die "no function $SERVICE in knative/services/"

if [ "$LATEST" = 1 ]; then
  say "$SERVICE: all traffic to its latest revision"
  knc service update "$SERVICE" --namespace "$NAMESPACE" --traffic "@latest=100"
  exit 0
fi

if is_dry_run; then
  REVISION="${REVISION:-$SERVICE-<previous>}"
  note "(dry run: the target would be read from the cluster and checked: Ready, K_SINK, traffic)"
else
  facts="$(mktemp -d)"
  trap 'rm -rf "$facts"' EXIT
  kubectl --context "$KUBE_CONTEXT" get ksvc "$SERVICE" --namespace "$NAMESPACE" -o json \
    >"$facts/service.json" || die "no Knative Service $SERVICE in the cluster"
  kubectl --context "$KUBE_CONTEXT" get revisions --namespace "$NAMESPACE" \
    -l "serving.knative.dev/service=$SERVICE" -o json >"$facts/revisions.json" ||
    die "cannot list the revisions of $SERVICE"
  REVISION="$(plan rollback-target "$facts/service.json" "$facts/revisions.json" ${REVISION:+"$REVISION"})" ||
    die "no rollback of $SERVICE (kn revision list -s $SERVICE -n $NAMESPACE)"
  note "$SERVICE: rolling back to $REVISION"
fi

say "$SERVICE: all traffic to $REVISION"
# --no-wait: after a failed deploy (the usual reason to roll back) the Service is not Ready
# while its newest revision has failed, so kn's wait would fail although the traffic moved.
# What matters is checked instead: the Service's routing serves REVISION, and only it.
knc service update "$SERVICE" --namespace "$NAMESPACE" --traffic "$REVISION=100" --no-wait
if ! is_dry_run; then
  attempt=0
  while [ "$attempt" -lt 60 ]; do
    attempt=$((attempt + 1))
    kubectl --context "$KUBE_CONTEXT" get ksvc "$SERVICE" --namespace "$NAMESPACE" -o json \
      >"$facts/service.json" || die "cannot read the Knative Service $SERVICE"
    if plan serves "$facts/service.json" "$REVISION"; then
      note "$SERVICE serves $REVISION"
      kn --context "$KUBE_CONTEXT" revision list --service "$SERVICE" --namespace "$NAMESPACE"
      exit 0
    fi
    sleep 2
  done
  die "$SERVICE does not serve $REVISION after 120 s (kn service describe $SERVICE -n $NAMESPACE)"
fi
