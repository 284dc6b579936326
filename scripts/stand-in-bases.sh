#!/usr/bin/env bash
# Builds local stand-ins for the images' public bases, which `make test-images` cannot pull:
#   whisperx-base/python:3.11-bookworm  Debian bookworm with Python 3.11 and its headers, as in
#                                       python:3.11-slim-bookworm (run with DEVICE=cpu, it also stands in
#                                       for the worker's CUDA base)
#   whisperx-base/uv:VERSION            the uv binary from its PyPI wheel (ghcr.io/astral-sh/uv)
# The Python base carries the CA bundle this machine's pip trusts, so pip, uv and apt-get inside a build reach
# the registries as this machine does. Each image is built once and kept.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON_BASE=whisperx-base/python:3.11-bookworm
UV_VERSION=$(sed -n 's/^uv==\([^ ]*\).*/\1/p' requirements-test.lock)
UV_BASE=whisperx-base/uv:$UV_VERSION
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
# The bundle pip uses here (`pip config`), else the system's.
CA_BUNDLE=${CA_BUNDLE:-$(.venv/bin/python -m pip config get global.cert 2>/dev/null || echo /etc/ssl/certs/ca-certificates.crt)}
DOCKER=${DOCKER:-docker}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if ! "$DOCKER" image inspect "$PYTHON_BASE" >/dev/null 2>&1; then
  echo "building $PYTHON_BASE with debootstrap from $MIRROR" >&2
  rootfs=$WORK/rootfs
  debootstrap --variant=minbase --include=python3.11,python3.11-dev,python3-venv,ca-certificates bookworm "$rootfs" "$MIRROR" \
    >"$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log"; exit 1; }
  cp "$CA_BUNDLE" "$rootfs/usr/local/share/ca-certificates/registries.crt"
  chroot "$rootfs" update-ca-certificates >/dev/null
  chroot "$rootfs" ln -sf /usr/bin/python3.11 /usr/local/bin/python
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["python3"]' - "$PYTHON_BASE" >/dev/null
fi

if ! "$DOCKER" image inspect "$UV_BASE" >/dev/null 2>&1; then
  echo "building $UV_BASE from the uv wheel" >&2
  .venv/bin/python -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux_2_17_x86_64 \
    --python-version 3.11 --dest "$WORK/wheel" "uv==$UV_VERSION"
  .venv/bin/python -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' \
    "$WORK"/wheel/uv-*.whl "$WORK/unpacked"
  mkdir "$WORK/context"
  install -m 755 "$WORK"/unpacked/uv-*.data/scripts/uv "$WORK"/unpacked/uv-*.data/scripts/uvx "$WORK/context/"
  printf 'FROM scratch\nCOPY uv uvx /\n' | DOCKER_BUILDKIT=0 "$DOCKER" build --quiet -t "$UV_BASE" -f - "$WORK/context" >/dev/null
fi

echo "BASE_IMAGE=$PYTHON_BASE UV_IMAGE=$UV_BASE"
