#!/usr/bin/env bash
# Build and run ser_nb's container image (../Containerfile) with Podman on a machine without a registry:
# the base image is bootstrapped from the Debian mirror apt uses, the wheels are made on the host.
#
#   tools/container.sh base                 # localhost/debian:bookworm, by debootstrap, unless it exists (~1 min)
#   tools/container.sh context DIR          # DIR: the build context (sources, wheels/ made here by pip wheel, npm/:
#                                           # onnxruntime-web's tarball)
#   tools/container.sh build [IMAGE] [DIR]  # base + context (in DIR, else a temporary one) + podman build
#                                           # (IMAGE: localhost/ser_nb:latest); prints the image's size in bytes
#   tools/container.sh run [IMAGE] [PORT]   # serve on 127.0.0.1:PORT (8000), token from $SER_TOKEN
#
# Environment: MIRROR (the Debian archive debootstrap reads; default the one in apt's sources), BASE (the base image;
# default localhost/debian:bookworm, bootstrapped when missing), PYTHON (the Python whose pip makes the wheels; default
# the repository's .venv), PODMAN_FLAGS (global podman flags; default what this kind of machine needs: cgroupfs, as it
# has no systemd), PODMAN_RUNTIME (default runc: crun fails on its cgroups).
# On a machine with Docker or a registry none of this is needed: `docker build -f Containerfile -t ser_nb .`
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEFAULT_BASE=localhost/debian:bookworm
BASE=${BASE:-$DEFAULT_BASE}
IMAGE_DEFAULT=localhost/ser_nb:latest
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
read -r -a FLAGS <<< "${PODMAN_FLAGS:---cgroup-manager=cgroupfs}"
RUNTIME=${PODMAN_RUNTIME:-runc}

# podman's default ulimits (RLIMIT_NPROC, ...) cannot be set in this kind of sandbox: none, unless the caller set a conf
if [ -z "${CONTAINERS_CONF:-}" ]; then
    export CONTAINERS_CONF=${TMPDIR:-/tmp}/ser_nb-containers.conf
    printf '[containers]\ndefault_ulimits = []\n' > "$CONTAINERS_CONF"
fi

say() { echo "container.sh: $*" >&2; }

# The URI of the Debian archive apt uses here (deb822 .sources or a one-line sources.list), unless MIRROR is set.
mirror() {
    local m=${MIRROR:-}
    [ -z "$m" ] || { echo "$m"; return; }
    m=$(awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ && u {print u; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    [ -n "$m" ] || m=$(awk '$1 == "deb" && $0 ~ / bookworm / {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' \
                        /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
    [ -n "$m" ] || { say "no bookworm archive in apt's sources: set MIRROR to a Debian mirror's URI"; exit 1; }
    echo "$m"
}

base() {
    if podman "${FLAGS[@]}" image exists "$BASE"; then say "base $BASE exists"; return; fi
    [ "$BASE" = "$DEFAULT_BASE" ] || { say "base $BASE missing (only $DEFAULT_BASE is bootstrapped here)"; exit 1; }
    command -v debootstrap >/dev/null || { say "debootstrap missing: apt-get install -y podman runc debootstrap"; exit 1; }
    local rootfs; rootfs=$(mktemp -d "${TMPDIR:-/tmp}/ser_nb-rootfs.XXXXXX")
    trap 'rm -rf "$rootfs"' RETURN
    say "debootstrap bookworm from $(mirror) into $rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$(mirror)" >&2
    # as Debian's own bookworm-slim image: no documentation, manuals or translations installed later, none kept now,
    # no apt lists or caches (a build runs apt-get update)
    cat > "$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
EOF
    find "$rootfs/usr/share/doc" -mindepth 1 ! -name copyright ! -type d -delete
    find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/groff/* "$rootfs"/usr/share/lintian/*
    find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
           "$rootfs"/var/log/* "$rootfs"/var/cache/debconf/*-old "$rootfs"/tmp/*
    tar -C "$rootfs" -c . | podman "${FLAGS[@]}" import - "$BASE" >&2
    say "base $BASE imported"
}

context() {
    local dir=${1:?context DIR}
    mkdir -p "$dir"
    cp "$ROOT/Containerfile" "$ROOT/.containerignore" "$ROOT/pyproject.toml" "$ROOT/README.md" "$ROOT/constraints.txt" "$dir/"
    rm -rf "$dir/ser_nb"; cp -r "$ROOT/ser_nb" "$dir/ser_nb"
    find "$dir/ser_nb" -name __pycache__ -prune -exec rm -rf {} +
    rm -f "$dir"/wheels/ser_nb-*.whl
    say "wheels for $dir/wheels (pip wheel -c constraints.txt, with $PYTHON)"
    # in a copy of the sources, so that the build of ser_nb's wheel writes nothing into the repository
    (cd "$dir" && "$PYTHON" -m pip wheel -q --disable-pip-version-check -c constraints.txt -w wheels .) >&2
    rm -rf "$dir/build" "$dir"/*.egg-info
    # onnxruntime-web for the served page's in-browser mode (ser_nb.web): fetched once here, checked, baked into the image
    mkdir -p "$dir/npm"
    cp "$("$PYTHON" -c 'from ser_nb.web import ort_tarball; print(ort_tarball())')" "$dir/npm/"
}

build() {
    local image=${1:-$IMAGE_DEFAULT} dir=${2:-}
    base
    if [ -z "$dir" ]; then dir=$(mktemp -d "${TMPDIR:-/tmp}/ser_nb-context.XXXXXX"); trap 'rm -rf "$dir"' RETURN; fi
    context "$dir"
    # --format docker: Podman keeps the HEALTHCHECK only in Docker's image format
    # --isolation chroot: the RUN steps without a new runtime's rlimits and cgroups
    podman "${FLAGS[@]}" build --format docker --isolation chroot --build-arg "BASE=$BASE" -t "$image" -f "$dir/Containerfile" "$dir" >&2
    podman "${FLAGS[@]}" image inspect --format '{{.Size}}' "$image"
}

run() {
    local image=${1:-$IMAGE_DEFAULT} port=${2:-8000}
    [ -n "${SER_TOKEN:-}" ] || say "warning: SER_TOKEN is not set, the API is open to anyone who reaches port $port"
    exec podman "${FLAGS[@]}" --runtime "$RUNTIME" run --rm --ulimit host -e SER_TOKEN -p "127.0.0.1:$port:8000" "$image"
}

cmd=${1:-}; shift || true
case "$cmd" in
    base|context|build|run|mirror) "$cmd" "$@" ;;
    *) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
