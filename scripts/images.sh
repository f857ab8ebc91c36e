#!/usr/bin/env bash
# Builds the container images of docker-compose.yml with podman, from Debian's packages alone (no
# image is pulled from a registry), for machines without a Docker engine:
#
#   wagw-debian:bookworm   Debian's minimal base, made by debootstrap from the host's Debian mirror
#   wagw-python:3.11       that base + Debian's Python in a venv: stands in for python:3.11-slim
#   wagw:latest            ./Dockerfile, built with PYTHON_IMAGE=wagw-python:3.11
#   wagw-whatsapp:latest   workers/whatsapp/Dockerfile on wagw:latest: the real WhatsApp worker (neonize
#                          from PyPI, the whatsmeow bridge built with Go from the Go module proxy), its
#                          bundled library loaded once more with no network at all
#   wagw-rabbitmq, wagw-redis, wagw-prometheus   Debian's packages of those servers
#   wagw-ferretdb          the project's FerretDB build (tools/ferretdb), the MongoDB stand-in
#   wagw-objectstore       the project's S3-API object store (tools/objectstore), MinIO's stand-in
#   wagw-postgres          Debian's PostgreSQL, the WhatsApp worker's credential store
#
#   scripts/images.sh build     install what is missing, then build every image (unchanged steps come
#                               from the cache: seconds when nothing changed)
#   scripts/images.sh status    which images exist
#   scripts/images.sh check     exit 0 when podman can run a container here, else say why and exit 1
#
# `build` exits with 3 (and says why) when podman cannot run a container on this machine: the
# compose test skips then, and fails on any other error.
# Caches (git-ignored): the debootstrap tarball in .local/images/, image layers in podman's store.
# Delete the tarball or `podman rmi` an image to rebuild it. Podman reads deploy/podman/containers.conf
# (runc, host network, no rlimits): nothing machine-wide is edited. See deploy/podman/README.md.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PODMAN_DIR="$ROOT/deploy/podman"
CACHE_DIR="$ROOT/.local/images"
SUITE="${DEBIAN_SUITE:-bookworm}"
BASE_IMAGE="localhost/wagw-debian:$SUITE"
PYTHON_IMAGE="localhost/wagw-python:3.11"
CANNOT_RUN=3
export CONTAINERS_CONF="$PODMAN_DIR/containers.conf"

say() { printf 'images: %s\n' "$*"; }
die() { printf 'images: ERROR: %s\n' "$*" >&2; exit 1; }

image_exists() { podman image exists "$1"; }

# debian_mirror: the Debian mirror apt uses on this machine (deb822 or one-line sources), so the
# base image is built from the same place, whatever the network allows.
debian_mirror() {
    local uri
    uri="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
        awk '/^URIs:/ {u=$2} /^Suites:/ && u != "" && $0 ~ /'"$SUITE"'([ ]|$)/ {print u; exit}')"
    [[ -n "$uri" ]] || uri="$(grep -hE "^deb [^ ]+ $SUITE( |$)" /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
        awk '{print $2; exit}')"
    echo "${uri:-http://deb.debian.org/debian}"
}

# base_tarball: debootstrap's minimal Debian, made once and kept in the cache.
base_tarball() {
    local tarball="$CACHE_DIR/debian-$SUITE.tar" rootfs mirror
    if [[ -s "$tarball" ]]; then
        echo "$tarball"
        return 0
    fi
    mkdir -p "$CACHE_DIR"
    mirror="$(debian_mirror)"
    rootfs="$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")"
    say "debootstrap $SUITE from $mirror (first time: a few minutes)" >&2
    debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$rootfs" "$mirror" >"$CACHE_DIR/debootstrap.log" 2>&1 ||
        die "debootstrap failed, see ${CACHE_DIR#"$ROOT"/}/debootstrap.log"
    # Like Debian's official images: package scripts never start services, no recommends.
    printf '#!/bin/sh\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
    chmod 755 "$rootfs/usr/sbin/policy-rc.d"
    printf 'APT::Install-Recommends "false";\n' >"$rootfs/etc/apt/apt.conf.d/90wagw-no-recommends"
    printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$SUITE" "$mirror" "$SUITE" >"$rootfs/etc/apt/sources.list"
    # The build machine's own certificate authorities (e.g. of a proxy inspecting TLS), so that
    # pip inside a build reaches the package index the way the host does.
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
        chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
    fi
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
    tar -C "$rootfs" --numeric-owner -cf "$tarball.tmp" .
    rm -rf "$rootfs"
    mv "$tarball.tmp" "$tarball"
    echo "$tarball"
}

build_base() {
    image_exists "$BASE_IMAGE" && return 0
    local tarball
    tarball="$(base_tarball)"
    say "importing $BASE_IMAGE"
    podman import --quiet --change 'CMD ["bash"]' "$tarball" "$BASE_IMAGE" >/dev/null
}

# build IMAGE CONTAINERFILE CONTEXT [BUILD ARGS...]: podman's layer cache makes a rebuild of
# unchanged steps instant; --pull=never since no registry can be reached (nor needs to be).
build() {
    local image="$1" file="$2" context="$3"
    shift 3
    say "building $image"
    podman build --pull=never --network=host --layers --format=docker -t "$image" -f "$file" "$@" "$context" \
        >"$CACHE_DIR/build-${image##*/}.log" 2>&1 ||
        die "building $image failed, see ${CACHE_DIR#"$ROOT"/}/build-${image##*/}.log"
}

# build_from_binary NAME IMAGE: an image around one of the project's Go servers, which
# scripts/infra.sh builds into .local/bin/NAME (make test starts the infrastructure before the tests).
build_from_binary() {
    local name="$1" image="$2" binary="$ROOT/.local/bin/$1" context
    [[ -x "$binary" ]] || die "no ${binary#"$ROOT"/}: run scripts/infra.sh start once to build it"
    context="$(mktemp -d "$CACHE_DIR/$name-context.XXXXXX")"
    cp "$binary" "$context/$name"
    build "$image" "$PODMAN_DIR/$name.Containerfile" "$context" --build-arg "BASE=$BASE_IMAGE"
    rm -rf "$context"
}

# whatsapp_sources_digest: as source_digest, for what the WhatsApp worker's image adds.
whatsapp_sources_digest() {
    (cd "$ROOT" && find requirements workers/whatsapp -type f -not -path '*/tests/*' -not -path '*/__pycache__/*' \
        -not -name '*.pyc' -not -path '*.egg-info/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

# build_whatsapp: the real worker's image on the platform image just built, then its bundled WhatsApp
# library loaded again in a container with no network at all: neonize must never fetch a build.
build_whatsapp() {
    local image="${WAGW_WHATSAPP_IMAGE:-localhost/wagw-whatsapp:latest}" out
    build "$image" "$ROOT/workers/whatsapp/Dockerfile" "$ROOT" --build-arg "PYTHON_IMAGE=$PYTHON_IMAGE" \
        --build-arg "PLATFORM_IMAGE=${WAGW_IMAGE:-localhost/wagw:latest}" \
        --build-arg "SOURCE_DIGEST=$(source_digest)-$(whatsapp_sources_digest)"
    out="$(podman run --rm --pull=never --network=none "$image" python -c \
        'from wagw_worker_whatsapp.library import load_neonize; load_neonize(); print("neonize loaded offline")' 2>&1)" ||
        die "the WhatsApp library does not load without a network in $image: ${out##*$'\n'}"
}

# source_digest: changes with any file the platform image is built from. Buildah's layer cache does
# not look into the builder stage mounted by the Dockerfile's install step, so without it a changed
# service would keep running the code of the image's first build.
source_digest() {
    (cd "$ROOT" && find requirements libs/common services workers/sdk workers/simulator -type f \
        -not -path '*/tests/*' -not -path '*/__pycache__/*' -not -name '*.pyc' -not -path '*.egg-info/*' -print0 \
        | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
}

build_all() {
    "$ROOT/scripts/bootstrap.sh" --system
    mkdir -p "$CACHE_DIR"
    local started=$SECONDS
    build_base
    local why
    why="$(check 2>&1)" || { printf 'images: %s\n' "$why" >&2; exit "$CANNOT_RUN"; }
    build "$PYTHON_IMAGE" "$PODMAN_DIR/python.Containerfile" "$PODMAN_DIR" --build-arg "BASE=$BASE_IMAGE"
    build "${WAGW_IMAGE:-localhost/wagw:latest}" "$ROOT/Dockerfile" "$ROOT" --build-arg "PYTHON_IMAGE=$PYTHON_IMAGE" \
        --build-arg "SOURCE_DIGEST=$(source_digest)"
    local server
    for server in rabbitmq redis prometheus; do
        build "localhost/wagw-$server:$SUITE" "$PODMAN_DIR/$server.Containerfile" "$PODMAN_DIR" --build-arg "BASE=$BASE_IMAGE"
    done
    build_from_binary ferretdb localhost/wagw-ferretdb:1.24.2
    build_from_binary objectstore localhost/wagw-objectstore:1.2.0
    build localhost/wagw-postgres:$SUITE "$PODMAN_DIR/postgres.Containerfile" "$PODMAN_DIR" --build-arg "BASE=$BASE_IMAGE"
    build_whatsapp
    say "images ready in $((SECONDS - started)) s"
}

# check: can podman run a container of the base image on this machine?
check() {
    command -v podman >/dev/null || { echo "podman is not installed" >&2; return 1; }
    image_exists "$BASE_IMAGE" || { echo "no $BASE_IMAGE yet (scripts/images.sh build makes it)" >&2; return 1; }
    local out
    out="$(podman run --rm --pull=never "$BASE_IMAGE" true 2>&1)" ||
        { echo "podman cannot run a container here: ${out##*$'\n'}" >&2; return 1; }
}

status() {
    podman images --format '{{.Repository}}:{{.Tag}}  {{.Size}}  {{.Created}}' | grep -E 'localhost/wagw' || say "no image built yet"
}

case "${1:-}" in
    build) build_all ;;
    status) status ;;
    check) check ;;
    *)
        sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
