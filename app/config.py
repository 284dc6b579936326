"""One settings object for the whole service, read from the environment and an optional `.env`."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class LimitSettings(BaseModel):
    """Bounds on what one request may ask of the service."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    max_upload_mb: float = Field(200, gt=0)
    """Largest accepted upload or download, in MiB."""
    max_audio_seconds: float = Field(4 * 3600, gt=0)
    """Longest accepted audio, in seconds (the REST server; the worker's is `WORKER__MAX_AUDIO_SECONDS`)."""
    max_channels: int = Field(8, ge=2, le=64)
    """Most channels a `multichannel` file may have (each is transcribed on its own)."""
    queue_size: int = Field(8, ge=1)
    """Queued tasks (rows in the task table) beyond which new requests get 503."""


class WebhookSettings(BaseModel):
    """Result and progress webhooks."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    url: str | None = None
    """Default result webhook when a request names none."""
    secret: SecretStr | None = None
    """HMAC-SHA256 key; when set, bodies are signed in `X-Webhook-Signature`."""
    attempts: int = Field(5, ge=1)
    """Deliveries tried before giving up."""
    base_delay_s: float = Field(1.0, ge=0)
    """First retry delay; it doubles on each retry, with random jitter."""
    max_delay_s: float = Field(30.0, ge=0)
    """Upper bound on one retry delay."""


class FetchSettings(BaseModel):
    """Downloading audio from URLs that users give."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    timeout_s: float = Field(300.0, gt=0)
    """Deadline for one whole download, redirects included."""
    max_redirects: int = Field(5, ge=0, le=20)
    """Redirects followed (each one re-checked) before giving up."""
    allow_private_hosts: list[str] = []
    """Host names or IPs exempt from the public-address rule (for tests and private deployments)."""


class WorkerSettings(BaseModel):
    """The RunPod worker's own bounds (the REST server's are under `LIMITS__`)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    max_audio_seconds: float = Field(3600, gt=0)
    """Longest audio a RunPod job may carry; longer jobs are refused at once. Size the endpoint's execution
    timeout to cover it (see "Timeouts" in docs/runpod.md)."""
    stream: bool = False
    """Stream each job: its segments as they are decoded (RunPod's `/stream`), then its answer. `/run` and
    `/runsync` then answer with the list of streamed items, the answer last (see "Streaming" in
    docs/runpod.md)."""


class RealtimeSettings(BaseModel):
    """Live transcription over OpenAI's Realtime protocol (`/v1/realtime`)."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    max_sessions: int = Field(4, ge=0)
    """Live sessions open at once in this process; one more is refused with `queue_full` (0 turns live
    transcription off)."""
    max_session_seconds: float = Field(3600, gt=0)
    """How long one session may stay open; it is then ended with `session_expired`."""
    max_buffer_seconds: float = Field(120, gt=0, le=3600)
    """Most audio the input buffer holds: without turn detection, audio past it is refused until the buffer is
    committed or cleared; with it, a turn that long is ended there."""


RUNPOD_VOLUME = Path("/runpod-volume")


class Settings(BaseSettings):
    """Service settings. Nested groups use `__` in variable names, e.g. `LIMITS__QUEUE_SIZE`."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
        use_attribute_docstrings=True,
    )

    data_dir: Path = Path("data")
    """Where the embedded SQLite database and temporary audio live."""
    database_url: str | None = None
    """SQLAlchemy URL of the task store; empty means SQLite at `<DATA_DIR>/tasks.db`.
    Use PostgreSQL (`postgresql+psycopg://…`) when several workers share tasks."""
    whisper_model: str = "tiny.en"
    """faster-whisper model: `tiny.en` is bundled and needs no download; `large-v3` etc. come from the hub."""
    allowed_models: list[str] = []
    """Whisper models a request may name besides `WHISPER_MODEL` (JSON list); others are refused with
    `model_not_allowed` before anything loads."""
    max_loaded_models: int = Field(2, ge=1, le=64)
    """Whisper models kept in memory at once; loading another unloads the least recently used idle one."""
    model_idle_unload_seconds: float | None = Field(None, gt=0)
    """Seconds after which a model no request has used (Whisper, aligner, diarizer, VAD) is unloaded and its
    memory, GPU memory included, given back; the next request that needs it loads it again. Unset (the
    default, on the server and the worker): every model stays loaded."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """`auto` picks cuda when a GPU is visible, else cpu."""
    compute_type: Literal["auto", "float16", "float32", "int8", "int8_float16", "bfloat16"] = "auto"
    """`auto` is float16 on cuda and int8 on cpu."""
    threads: int = Field(0, ge=0)
    """CPU threads for transcription; 0 means one per core, at most 4."""
    batch_size: int = Field(8, ge=1, le=256)
    """Batched transcription size."""
    whisper_workers: int = Field(2, ge=1, le=8)
    """Decodes that run at once on one loaded Whisper model (CTranslate2 workers sharing its weights). With 2,
    a live stream's window is decoded beside a file task's batch instead of waiting for it to end."""
    hf_token: SecretStr | None = None
    """Hugging Face token for gated models (pyannote diarization pipeline)."""
    diarization_model: str = "pyannote/speaker-diarization-community-1"
    """pyannote pipeline used when an HF token is set; without one the embedded diarizer runs."""
    overlap_diarization: bool = True
    """Run diarization beside transcription and alignment in the full pipeline, instead of after them."""
    preload_models: bool = True
    """Load the configured models when the worker or server starts."""
    align_languages: list[str] = ["en"]
    """Languages whose wav2vec2 aligner is preloaded (others load on first use)."""
    lease_seconds: float = Field(60.0, gt=0)
    """How long a worker's claim on a task lasts without renewal; expired claims are recovered."""
    api_keys: list[SecretStr] = []
    """Bearer keys the REST server accepts (JSON list, e.g. `["k1","k2"]`); each key sees only its own tasks.
    Empty leaves the server open to anyone who can reach it."""
    model_cache_dir: Path | None = None
    """Where models that are not in the image are downloaded and kept (Hugging Face and torch hub layout).
    Empty means `/runpod-volume/huggingface-cache` when a RunPod network volume is mounted and neither
    `HF_HOME` nor `HF_HUB_CACHE` is set; otherwise the libraries' own defaults."""
    limits: LimitSettings = LimitSettings()
    worker: WorkerSettings = WorkerSettings()
    webhook: WebhookSettings = WebhookSettings()
    fetch: FetchSettings = FetchSettings()
    realtime: RealtimeSettings = RealtimeSettings()
    host: str = "127.0.0.1"
    """Address `python -m app` serves on (the images set `0.0.0.0`)."""
    port: int = Field(8000, ge=1, le=65535)
    """Port of the REST app (`python -m app`); RunPod load-balancing endpoints set it."""
    port_health: int | None = Field(None, ge=1, le=65535)
    """Port of `GET /ping` for RunPod load-balancing endpoints; empty means `PORT`."""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """Log level of the service's loggers."""

    @property
    def resolved_database_url(self) -> str:
        """The task store's URL, defaulting to the embedded SQLite file."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'tasks.db').resolve()}"

    @property
    def served_models(self) -> list[str]:
        """The Whisper models requests may use: `WHISPER_MODEL` first, then `ALLOWED_MODELS`."""
        return list(dict.fromkeys([self.whisper_model, *self.allowed_models]))

    @property
    def resolved_model_cache_dir(self) -> Path | None:
        """The model cache root, resolving the RunPod volume default."""
        if self.model_cache_dir is not None:
            return self.model_cache_dir
        if os.environ.get("HF_HOME") or os.environ.get("HF_HUB_CACHE") or not RUNPOD_VOLUME.is_dir():
            return None  # a deployment's own cache (an image's baked models) stays in charge
        return RUNPOD_VOLUME / "huggingface-cache"

    @property
    def resolved_device(self) -> str:
        """`cuda` or `cpu`, resolving `auto` by probing for a GPU."""
        if self.device != "auto":
            return self.device
        import torch  # heavy: only when a device is actually needed

        return "cuda" if torch.cuda.is_available() else "cpu"

    def compute_type_for(self, device: str) -> str:
        """The compute type on `device`, resolving `auto`."""
        if self.compute_type != "auto":
            return self.compute_type
        return "float16" if device == "cuda" else "int8"

    @property
    def resolved_threads(self) -> int:
        """CPU threads for transcription, resolving 0."""
        return self.threads or min(4, os.cpu_count() or 1)


@lru_cache
def get_settings() -> Settings:
    """The process's settings; tests clear this cache to override them."""
    return Settings()


def settings_table() -> str:
    """Markdown table of every environment variable, its default and meaning (kept in docs/configuration.md)."""
    rows = ["| variable | default | meaning |", "| --- | --- | --- |"]

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
                walk(field.annotation, f"{prefix}{name.upper()}__")
                continue
            default = field.default
            shown = "" if default is None else str(default.value if hasattr(default, "value") else default)
            doc = " ".join((field.description or "").split())
            rows.append(f"| `{prefix}{name.upper()}` | `{shown}` | {doc} |")

    walk(Settings, "")
    return "\n".join(rows)


if __name__ == "__main__":
    print(settings_table())
