"""WhisperX speech-to-text service: a RunPod worker and a FastAPI app over the same services."""

import os

__version__ = "0.1.0"

# oneDNN (behind CTranslate2's and torch's CPU kernels) keeps a compiled primitive for each shape it meets, up to
# 1,024: decoding meets a new shape at every length of text, so a long recording's transcription grew its memory
# by 126 MB over 45 minutes with the default and by 35 MB with a few entries, no slower (docs/performance.md).
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "8")
