# shellcheck shell=bash
# Shared by kind-setup.sh and deploy/*.sh: settings, logging, the dry run, and the
# kubectl/kn wrappers. Sourced, never run. Written for bash 3.2 too (macOS's /bin/bash):
# no mapfile, no associative arrays, no expansion of possibly empty arrays under set -u.
#
# Settings (environment):
#   DRY_RUN=1            print every command that would change something, run none of them
#   ACOUGUE_CLUSTER      Kind cluster name (default acougue; kubectl context kind-<name>)
#   ACOUGUE_PYTHON       a Python with PyYAML for reading the manifests (default .venv's)

ACOUGUE_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEPLOY_DIR="$ACOUGUE_REPO/deploy"
# shellcheck source=deploy/versions.env
. "$DEPLOY_DIR/versions.env"

CLUSTER_NAME="${ACOUGUE_CLUSTER:-acougue}"
KUBE_CONTEXT="kind-$CLUSTER_NAME"
# shellcheck disable=SC2034 # used by the scripts that source this file
NAMESPACE=acougue-system
DRY_RUN="${DRY_RUN:-0}"
PY=""
ARGS=()
TAG=""
BUILD=1
NAMES=()
RECORDS=""
SECRET_DIR=""
export DRY_RUN ACOUGUE_CLUSTER="$CLUSTER_NAME"

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

is_dry_run() { [ "$DRY_RUN" = 1 ]; }

# usage SCRIPT: the script's leading comment block (after the #! line), as help.
usage() {
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "${1:-$0}"
}

# usage_error: an argument the script does not take, or one it needs missing: the help on
# stderr, exit 2.
usage_error() {
  usage >&2
  exit 2
}

# parse_args OPTIONS TAKE ARG...: the command line. Every script takes --dry-run (-n) and
# -h/--help; OPTIONS names which of `--tag TAG` (into TAG) and `--no-build` (BUILD=0) it
# takes too. Any other argument goes to the function TAKE, which fails on one it does not
# take; with TAKE "" there are none. An argument nothing takes is a usage error.
parse_args() {
  local options=" $1 " take="$2"
  shift 2
  while [ $# -gt 0 ]; do
    case "$1" in
    --dry-run | -n) DRY_RUN=1 ;;
    -h | --help)
      usage
      exit 0
      ;;
    --tag | --no-build)
      case "$options" in
      *" $1 "*) ;;
      *) usage_error ;;
      esac
      if [ "$1" = --no-build ]; then
        BUILD=0
      else
        [ $# -ge 2 ] || die "--tag needs a value"
        TAG="$2"
        shift
      fi
      ;;
    *)
      if [ -z "$take" ] || ! "$take" "$1"; then
        usage_error
      fi
      ;;
    esac
    shift
  done
}

# take_name ARG: for parse_args, a name (not an option) into the array NAMES.
take_name() {
  case "$1" in
  -*) return 1 ;;
  esac
  NAMES+=("$1")
}

# has_line LINES LINE: whether one of LINES (blanks around each trimmed) is LINE.
has_line() {
  local line
  while read -r line; do
    if [ "$line" = "$2" ]; then
      return 0
    fi
  done <<EOF
$1
EOF
  return 1
}

# Print a command the way it would be typed (arguments quoted where needed).
show() {
  local line="+" arg
  for arg in "$@"; do
    line="$line $(printf '%q' "$arg")"
  done
  printf '%s\n' "$line"
}

# Run a command that changes something: printed always, run unless this is a dry run.
run() {
  show "$@"
  if is_dry_run; then
    return 0
  fi
  "$@"
}

# Like run, for a command that reads a manifest on its standard input ($1 says which).
run_stdin() {
  local what="$1"
  shift
  show "$@"
  note "(stdin: $what)"
  if is_dry_run; then
    cat >/dev/null
    return 0
  fi
  "$@"
}

# A read-only look at the cluster, to decide what to do. In a dry run there is no
# cluster: the look fails, as if nothing existed yet.
query() {
  if is_dry_run; then
    return 1
  fi
  "$@"
}

kc() { run kubectl --context "$KUBE_CONTEXT" "$@"; }
kc_stdin() {
  local what="$1"
  shift
  run_stdin "$what" kubectl --context "$KUBE_CONTEXT" "$@"
}
kq() { query kubectl --context "$KUBE_CONTEXT" "$@"; }
knc() { run kn --context "$KUBE_CONTEXT" "$@"; }
knq() { query kn --context "$KUBE_CONTEXT" "$@"; }

# retry N COMMAND...: for applies that race a webhook still starting.
retry() {
  local attempts="$1" i=1
  shift
  until "$@"; do
    if [ "$i" -ge "$attempts" ]; then
      return 1
    fi
    warn "failed, retrying in 10s ($i/$attempts): $*"
    i=$((i + 1))
    sleep 10
  done
}

# The Python that reads the manifests: ACOUGUE_PYTHON, the project's .venv, or a python3
# that has PyYAML. Sets PY; fails when there is none.
pick_python() {
  if [ -n "${ACOUGUE_PYTHON:-}" ]; then
    PY="$ACOUGUE_PYTHON"
  elif [ -x "$ACOUGUE_REPO/.venv/bin/python" ]; then
    PY="$ACOUGUE_REPO/.venv/bin/python"
  elif command -v python3 >/dev/null 2>&1 && python3 -c 'import yaml' >/dev/null 2>&1; then
    PY=python3
  else
    return 1
  fi
}

need_python() {
  pick_python || die "no Python with PyYAML: run 'make run' once (it creates .venv) or set ACOUGUE_PYTHON"
}

# python -m deploy.plan ... (reads knative/, eventing/ and deploy/cluster/).
plan() {
  (cd "$ACOUGUE_REPO" && PYTHONPATH="$ACOUGUE_REPO" "$PY" -m deploy.plan "$@")
}

# plan_args SUBCOMMAND...: the NUL-separated arguments it prints, into the array ARGS.
plan_args() {
  local file arg
  file="$(mktemp)"
  if ! plan "$@" >"$file"; then
    rm -f "$file"
    die "cannot read the manifests: python -m deploy.plan $*"
  fi
  ARGS=()
  while IFS= read -r -d '' arg; do
    ARGS+=("$arg")
  done <"$file"
  rm -f "$file"
  [ "${#ARGS[@]}" -gt 0 ] || die "python -m deploy.plan $* printed nothing"
}

# plan_records SUBCOMMAND...: its records (argument lists) into the file $RECORDS, read with
#   while next_record; do ... "${ARGS[@]}" ...; done 3<"$RECORDS"
plan_records() {
  RECORDS="$(mktemp)"
  plan "$@" >"$RECORDS" || die "cannot read the manifests: python -m deploy.plan $*"
}

# next_record: the next record from file descriptor 3 into ARGS; fails at the end.
next_record() {
  local arg
  ARGS=()
  while IFS= read -r -d '' -u 3 arg; do
    if [ -z "$arg" ]; then
      return 0
    fi
    ARGS+=("$arg")
  done
  return 1
}

# The image tag of this build: the commit, plus a timestamp when the tree has changes, so
# every deploy of changed code is a new Knative revision (and an older one stays runnable).
default_tag() {
  local tag
  if tag="$(git -C "$ACOUGUE_REPO" rev-parse --short=12 HEAD 2>/dev/null)"; then
    if [ -n "$(git -C "$ACOUGUE_REPO" status --porcelain 2>/dev/null)" ]; then
      tag="$tag-dirty-$(date +%Y%m%d%H%M%S)"
    fi
  else
    tag="dev-$(date +%Y%m%d%H%M%S)"
  fi
  printf '%s\n' "$tag"
}

valid_tag() {
  case "$1" in
  "" | *[!A-Za-z0-9_.-]*) return 1 ;;
  *) [ "${#1}" -le 128 ] ;;
  esac
}

# resolve_tag: TAG as given (--tag), or this build's default; dies when it is no image tag.
resolve_tag() {
  [ -n "$TAG" ] || TAG="$(default_tag)"
  valid_tag "$TAG" || die "not a valid image tag: $TAG"
}

# build_images [SERVICE... | migrate]: deploy/images.sh at TAG, unless --no-build.
build_images() {
  if [ "$BUILD" = 1 ]; then
    "$DEPLOY_DIR/images.sh" --tag "$TAG" "$@"
  fi
}

# version_ge HAVE NEED: dotted versions, numerically (a leading "v" is ignored).
version_ge() {
  local have="${1#v}" need="${2#v}" h n i
  for i in 1 2 3; do
    h="$(printf '%s' "$have" | cut -d. -f"$i")"
    n="$(printf '%s' "$need" | cut -d. -f"$i")"
    h="${h%%[!0-9]*}"
    n="${n%%[!0-9]*}"
    if [ "${h:-0}" -gt "${n:-0}" ]; then return 0; fi
    if [ "${h:-0}" -lt "${n:-0}" ]; then return 1; fi
  done
  return 0
}

# -- secrets: generated here, stored only in the cluster, never printed ---------------------
# Call secret_dir once in the main shell (not in $(...)): it makes a private folder for
# the values on their way to kubectl, removed on exit.
secret_dir() {
  if [ -z "$SECRET_DIR" ]; then
    SECRET_DIR="$(mktemp -d)"
    chmod 700 "$SECRET_DIR"
    trap 'rm -rf "$SECRET_DIR"' EXIT
  fi
}

# secret_file NAME VALUE: writes VALUE to the private file $SECRET_DIR/NAME.
secret_file() {
  [ -n "$SECRET_DIR" ] || die "secret_dir was not called"
  (umask 077 && printf '%s' "$2" >"$SECRET_DIR/$1")
}

random_secret() { od -An -N24 -tx1 /dev/urandom | tr -d ' \n'; }

secret_exists() { kq get secret "$2" --namespace "$1" >/dev/null 2>&1; }

# secret_value NAMESPACE NAME KEY: the decoded value, or nothing.
secret_value() {
  local encoded
  encoded="$(kq get secret "$2" --namespace "$1" -o "jsonpath={.data.$3}" 2>/dev/null)" || return 0
  if [ -n "$encoded" ]; then
    printf '%s' "$encoded" | base64 --decode
  fi
}

# put_secret NAMESPACE NAME KEY=FILE...: create or update a generic Secret from files, so
# that no value ever appears on a command line or in this script's output.
put_secret() {
  local namespace="$1" name="$2" pair
  shift 2
  local from=()
  for pair in "$@"; do
    from+=("--from-file=$pair")
  done
  printf '%s | kubectl --context %s apply -f -\n' "$(show kubectl --context "$KUBE_CONTEXT" \
    create secret generic "$name" --namespace "$namespace" ${from[@]+"${from[@]}"} \
    --dry-run=client -o yaml)" "$KUBE_CONTEXT"
  if is_dry_run; then
    return 0
  fi
  kubectl --context "$KUBE_CONTEXT" create secret generic "$name" --namespace "$namespace" \
    ${from[@]+"${from[@]}"} --dry-run=client -o yaml | kubectl --context "$KUBE_CONTEXT" apply -f -
}

# -- is everything up? ---------------------------------------------------------------------------
# Namespaces this deployment installs or runs in: a Pending pod in any of them is a cluster
# too small for what was deployed (docs/cluster.md, "What the cluster needs").
READY_NAMESPACES="kube-system knative-serving kourier-system knative-eventing cert-manager rabbitmq-system $NAMESPACE"
# Kinds in acougue-system that report a Ready condition once they work.
READY_KINDS="ksvc broker trigger pingsource sinkbinding"

# verify_ready: wait for every deployed object to be Ready and no pod to be Pending; on
# failure, say which and why instead of "Done".
verify_ready() {
  local kind pending="" ns not_ready="" names
  [ -n "$PY" ] || need_python
  say "Waiting for everything deployed to be Ready"
  for kind in $READY_KINDS; do
    if ! kc wait "$kind" --all --namespace "$NAMESPACE" --for=condition=Ready --timeout=300s; then
      not_ready="$not_ready $kind"
    fi
  done
  if is_dry_run; then
    note "(dry run: would fail naming any object not Ready and any Pending pod)"
    return 0
  fi
  # A Pending pod that is scheduled is only starting (pulling, creating its container);
  # one the scheduler cannot place (PodScheduled=False, Unschedulable) will not start.
  for ns in $READY_NAMESPACES; do
    names="$(kubectl --context "$KUBE_CONTEXT" get pods --namespace "$ns" \
      --field-selector=status.phase=Pending -o json 2>/dev/null | plan unschedulable || true)"
    if [ -n "$names" ]; then
      pending="$pending $ns:$(printf '%s' "$names" | tr '\n' ' ')"
    fi
  done
  if [ -n "$not_ready" ] || [ -n "$pending" ]; then
    kubectl --context "$KUBE_CONTEXT" get ksvc,broker,trigger,pingsource,sinkbinding \
      --namespace "$NAMESPACE" >&2 || true
    [ -z "$pending" ] || warn "pods the scheduler cannot place (too little CPU or memory for their requests):$pending"
    [ -z "$not_ready" ] || warn "not Ready:$not_ready"
    die "the deployment is not healthy: see above (kubectl describe pod ... -n ...; docs/cluster.md, 'When something is not Ready')"
  fi
  say "Everything deployed is Ready; no pod is unschedulable"
}
