#!/usr/bin/env bash
# `make test-images`: builds both images for real, from local stand-ins for their public bases, and runs them
# (tests/images). Needs root: it installs Docker's engine and debootstrap from Debian's packages, starts the engine
# when none runs (no bridge, no iptables: builds and containers use the host's network) and stops it again.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "make test-images needs root: it starts Docker's engine and builds base images with debootstrap." >&2
  echo "Run it as root (sudo make test-images) on a Debian or Ubuntu machine." >&2
  exit 1
fi
command -v apt-get >/dev/null || { echo "make test-images needs apt-get (Debian or Ubuntu)." >&2; exit 1; }
scripts/install-system-packages.sh docker.io debootstrap
# Debian's client: it builds with BuildKit (secrets in RUN) without the buildx plugin.
DOCKER=/usr/bin/docker
export DOCKER DOCKER_BUILDKIT=1

# The two test images and their build cache take about 35 GB: they are removed once the tests ran (the stand-in
# bases, a few hundred MB, are kept), unless KEEP_TEST_IMAGES=1.
engine=
finish() {
  if [ "${KEEP_TEST_IMAGES:-0}" != 1 ]; then
    "$DOCKER" image rm --force whisperx-api:test whisperx-worker:test >/dev/null 2>&1 || true
    "$DOCKER" builder prune --all --force >/dev/null 2>&1 || true
  fi
  if [ -n "$engine" ]; then
    kill "$engine" 2>/dev/null || true
    wait "$engine" 2>/dev/null || true
  fi
}
trap finish EXIT

if ! "$DOCKER" info >/dev/null 2>&1; then
  log=$(mktemp /tmp/dockerd.XXXXXX.log)
  echo "starting the Docker engine (log: $log)"
  setsid dockerd --bridge=none --iptables=false >"$log" 2>&1 </dev/null &
  engine=$!
  for _ in $(seq 60); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 1; done
  "$DOCKER" info >/dev/null 2>&1 || { echo "the Docker engine did not start:" >&2; tail -20 "$log" >&2; exit 1; }
fi

eval "$(scripts/stand-in-bases.sh | tail -1)"
build() { "$DOCKER" build --network host --progress plain "$@" 2>&1 | grep -E '^#[0-9]+ (\[|DONE|ERROR)|ERROR|error:' ; }
echo "building whisperx-api:test on $BASE_IMAGE"
time build --build-arg BASE_IMAGE="$BASE_IMAGE" -t whisperx-api:test .
echo "building whisperx-worker:test (tiny.en, no hub) on $BASE_IMAGE"
time build -f .runpod/Dockerfile --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg UV_IMAGE="$UV_IMAGE" \
  --build-arg WHISPER_MODEL=tiny.en --build-arg HF_HUB_OFFLINE=1 -t whisperx-worker:test .

API_IMAGE=whisperx-api:test WORKER_IMAGE=whisperx-worker:test .venv/bin/python -m pytest tests/images -m images
