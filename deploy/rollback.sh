#!/usr/bin/env bash
# Roll back ONE function: all of its traffic to one earlier revision, with kn.
#
#   deploy/rollback.sh [--dry-run] SERVICE [REVISION]   # default: the revision before the current one
#   deploy/rollback.sh [--dry-run] SERVICE --latest     # undo: the newest revision again
#
# Runs `kn service update SERVICE --traffic REVISION=100`. No new revision is made and no
# other function changes. The pin lasts until the next deploy of SERVICE
# (deploy/kn-deploy.sh SERVICE), whose manifest sends traffic to the latest revision.
set -euo pipefail
# shellcheck source=deploy/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"


SERVICE=""
REVISION=""
LATEST=0
while [ $# -gt 0 ]; do
  case "$1" in
  --dry-run | -n) DRY_RUN=1 ;;
  --latest) LATEST=1 ;;
  -h | --help)
    usage "${BASH_SOURCE[0]}"
    exit 0
    ;;
  -*)
    usage "${BASH_SOURCE[0]}" >&2
    exit 2
    ;;
  *)
    if [ -z "$SERVICE" ]; then
      SERVICE="$1"
    elif [ -z "$REVISION" ]; then
      REVISION="$1"
    else
      usage "${BASH_SOURCE[0]}" >&2
      exit 2
    fi
    ;;
  esac
  shift
done
[ -n "$SERVICE" ] || {
  usage "${BASH_SOURCE[0]}" >&2
  exit 2
}
need_python
services="$(plan services)" || die "cannot read the manifests"
known=0
while read -r name; do
  if [ "$name" = "$SERVICE" ]; then
    known=1
  fi
done <<EOF
$services
EOF
[ "$known" = 1 ] || die "no function $SERVICE in knative/services/"

if [ "$LATEST" = 1 ]; then
  say "$SERVICE: all traffic to its latest revision"
  knc service update "$SERVICE" --namespace "$NAMESPACE" --traffic "@latest=100"
  exit 0
fi

if [ -z "$REVISION" ]; then
  if is_dry_run; then
    REVISION="$SERVICE-<previous>"
    note "(dry run: the previous revision would be read from the cluster)"
  else
    current="$(kubectl --context "$KUBE_CONTEXT" get ksvc "$SERVICE" --namespace "$NAMESPACE" \
      -o 'jsonpath={.status.traffic[0].revisionName}')"
    revisions="$(kubectl --context "$KUBE_CONTEXT" get revisions --namespace "$NAMESPACE" \
      -l "serving.knative.dev/service=$SERVICE" --sort-by=.metadata.creationTimestamp \
      -o 'jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}')"
    previous=""
    while read -r revision; do
      if [ "$revision" = "$current" ]; then
        break
      fi
      previous="$revision"
    done <<EOF
$revisions
EOF
    [ -n "$previous" ] || die "$SERVICE has no revision older than $current (kn revision list -s $SERVICE -n $NAMESPACE)"
    REVISION="$previous"
    note "$SERVICE serves $current; rolling back to $REVISION"
  fi
fi

say "$SERVICE: all traffic to $REVISION"
knc service update "$SERVICE" --namespace "$NAMESPACE" --traffic "$REVISION=100"
if ! is_dry_run; then
  kn --context "$KUBE_CONTEXT" revision list --service "$SERVICE" --namespace "$NAMESPACE"
fi
