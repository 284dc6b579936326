# The FastAPI server: docker build -t whisperx-api . && docker run -p 8000:8000 -v whisperx-data:/data whisperx-api
# Also a RunPod load-balancing endpoint: it serves on $PORT and answers GET /ping on $PORT_HEALTH.
FROM python:3.11.14-slim-bookworm

RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /srv
# Exactly the locked versions, every file checked against its hash.
COPY requirements.lock .
RUN pip install --no-cache-dir --require-hashes -r requirements.lock

COPY alembic.ini handler.py ./
COPY alembic alembic
COPY app app

ENV DATA_DIR=/data \
    HOST=0.0.0.0 \
    PORT=8000 \
    PYANNOTE_METRICS_ENABLED=false \
    PYTHONUNBUFFERED=1
VOLUME /data
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['PORT']}/health/ready\", timeout=4)"]

CMD ["python", "-m", "app"]
