"""Fetch the production models into the local caches (Hugging Face, torch hub, NLTK), e.g. at image build.

    WHISPER_MODEL=large-v3 HF_TOKEN=hf_... python scripts/download_models.py

Loads exactly what the service preloads at start (the same settings and code paths), so a worker built with it
starts without touching the network.
"""

import logging
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.config import Settings  # noqa: E402
from app.services.pipeline import preload_models  # noqa: E402


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    import nltk

    nltk_dir = os.environ.get("NLTK_DATA")
    if not nltk.download("punkt_tab", download_dir=nltk_dir, quiet=True):
        raise SystemExit("could not download NLTK punkt_tab")
    loaded = preload_models(Settings())
    logging.info("cached: %s", ", ".join(loaded))


if __name__ == "__main__":
    main()
