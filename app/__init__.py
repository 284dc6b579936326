"""WhisperX speech-to-text service: a RunPod worker and a FastAPI app over the same services."""

__version__ = "0.1.0"
