#!/usr/bin/env bash
# Build the images of some functions (one image per domain, from the one Dockerfile) and
# load them into the Kind cluster's node, where Knative runs them without a registry.
#
#   deploy/images.sh [--dry-run] [--tag TAG] [SERVICE... | migrate]
#
# Loaded with `docker save` + `kind load image-archive`, not `kind load docker-image`,
# which fails under Docker's containerd image store (the default in current Docker;
# kubernetes-sigs/kind#3795). The archive holds only the image just built for this
# machine's platform.
#
# With no SERVICE: every domain's image and the migration Job's. Each image is tagged TAG
# (default: the commit, see deploy/lib.sh) and `dev` (what `kubectl apply -k knative/`
# uses). Knative skips tag resolution for kind.local/ (deploy/knative/config-deployment.yaml).
set -euo pipefail
# shellcheck source=deploy/lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

parse_args --tag take_name "$@"
resolve_tag
need_python

ARCHIVES="$(mktemp -d)"
trap 'rm -rf "$ARCHIVES"' EXIT
# Where Docker can (28 and newer), the archive is cut to this machine's platform: kind
# imports it with --all-platforms, which fails on an index whose other platforms' content
# is absent (a pulled base image's, under the containerd image store).
SAVE_PLATFORM=()
if ! is_dry_run; then
  save_help="$(docker image save --help 2>/dev/null || true)"
  case "$save_help" in
  *--platform*) SAVE_PLATFORM=(--platform "linux/$(docker version --format '{{.Server.Arch}}')") ;;
  esac
fi
targets="$(plan build-targets ${NAMES[@]+"${NAMES[@]}"})" || die "cannot read the manifests"
while read -r repo domain; do
  [ -n "$repo" ] || continue
  say "Image $repo:$TAG (Dockerfile DOMAIN=$domain)"
  run docker build \
    --build-arg "DOMAIN=$domain" \
    --build-arg "PYTHON_IMAGE=$PYTHON_IMAGE" \
    --tag "$repo:$TAG" --tag "$repo:dev" \
    "$ACOUGUE_REPO"
  archive="$ARCHIVES/${repo##*/}-$TAG.tar"
  run docker save ${SAVE_PLATFORM[@]+"${SAVE_PLATFORM[@]}"} --output "$archive" "$repo:$TAG" "$repo:dev"
  run kind load image-archive --name "$CLUSTER_NAME" "$archive"
  run rm -f "$archive"
done <<EOF
$targets
EOF
