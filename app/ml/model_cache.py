"""Where downloaded models are kept: one cache root for the Hugging Face hub and torch hub downloads."""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def use_model_cache(root: Path | None) -> None:
    """Keep model downloads under `root` (`<root>/hub` in Hugging Face's layout, `<root>/torch`).

    The hub reads its cache path when a download starts, so this takes effect for every model loaded
    afterwards; the variables are set too, for libraries that read them later.
    """
    if root is None:
        return
    import huggingface_hub.constants as hub
    import torch.hub

    root.mkdir(parents=True, exist_ok=True)
    os.environ["HF_HOME"], os.environ["HF_HUB_CACHE"] = str(root), str(root / "hub")
    os.environ["TORCH_HOME"] = str(root / "torch")
    hub.HF_HOME, hub.HF_HUB_CACHE = str(root), str(root / "hub")
    torch.hub.set_dir(str(root / "torch"))
    log.info("model cache at %s", root)
