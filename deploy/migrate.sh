#!/usr/bin/env bash
# Run the migrations in the cluster: the Job deploy/cluster/migrate-job.yaml
# (`python -m tooling.provision`: schemas, domain roles, SQL migrations, first admin).
#
#   deploy/migrate.sh [--dry-run] [--tag TAG] [--no-build]
#
# Idempotent: applied migrations are skipped. Replaces the previous run of the Job, waits
# for it, and prints its log (with the first admin's password, the one time it is made).
set -euo pipefail
# shellcheck source=deploy/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

parse_args "--tag --no-build" "" "$@"
resolve_tag
need_python

JOB=acougue-migrate
JOB_FILE="$DEPLOY_DIR/cluster/migrate-job.yaml"
target="$(plan build-targets migrate)" || die "cannot read the manifests"
repo="${target%% *}"

build_images migrate

say "Migrations: Job $JOB with $repo:$TAG"
kc delete job "$JOB" --namespace "$NAMESPACE" --ignore-not-found --wait=true
sed "s#image: $repo:dev#image: $repo:$TAG#" "$JOB_FILE" |
  kc_stdin "$JOB_FILE, image $repo:$TAG" apply -f -

if is_dry_run; then
  note "(dry run: would wait for the Job to complete and print its log)"
  exit 0
fi

deadline=$(($(date +%s) + 900))
while :; do
  complete="$(kubectl --context "$KUBE_CONTEXT" get job "$JOB" --namespace "$NAMESPACE" \
    -o 'jsonpath={.status.conditions[?(@.type=="Complete")].status}' 2>/dev/null || true)"
  failed="$(kubectl --context "$KUBE_CONTEXT" get job "$JOB" --namespace "$NAMESPACE" \
    -o 'jsonpath={.status.conditions[?(@.type=="Failed")].status}' 2>/dev/null || true)"
  if [ "$complete" = True ]; then
    break
  fi
  if [ "$failed" = True ] || [ "$(date +%s)" -ge "$deadline" ]; then
    kubectl --context "$KUBE_CONTEXT" logs "job/$JOB" --namespace "$NAMESPACE" --tail=50 >&2 || true
    die "the migration Job failed (kubectl describe job/$JOB -n $NAMESPACE)"
  fi
  sleep 3
done
kubectl --context "$KUBE_CONTEXT" logs "job/$JOB" --namespace "$NAMESPACE"
