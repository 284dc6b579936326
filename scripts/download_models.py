"""Fetch the production models into the local caches (Hugging Face, torch hub, NLTK), e.g. at image build.

    WHISPER_MODEL=large-v3 HF_TOKEN=hf_... python scripts/download_models.py

Loads exactly what the service preloads at start (the same settings and code paths), so a worker built with it
starts without touching the network. With HF_HUB_OFFLINE=1 nothing is downloaded: only the bundled models load,
and NLTK's English sentence data bundled with the service stands in for punkt_tab.
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
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("0", "false", ""):
        import nltk

        if not nltk.download("punkt_tab", download_dir=os.environ.get("NLTK_DATA"), quiet=True):
            raise SystemExit("could not download NLTK punkt_tab")
    loaded = preload_models(Settings())
    logging.info("cached: %s", ", ".join(loaded))


if __name__ == "__main__":
    main()
