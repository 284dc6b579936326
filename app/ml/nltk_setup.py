"""Offline Punkt sentence-splitting data for whisperx's aligner.

`whisperx.align` loads `tokenizers/punkt_tab/<language>.pickle` through `nltk.data.load` (which NLTK turns
into the pickle-free `PunktTokenizer(<language>)`, reading `tokenizers/punkt_tab/<language>/`) and calls
`nltk.download` when that is missing, which fails offline. No PyPI package ships the data, so a minimal
English model (common abbreviations and sentence starters) is bundled with this package.
"""

from __future__ import annotations

import logging
from pathlib import Path

import nltk

logger = logging.getLogger(__name__)

BUNDLED_NLTK_DATA = Path(__file__).with_name("nltk_data")


def ensure_punkt_data() -> None:
    """Make English punkt_tab loadable offline; the bundled model is used only when none is installed."""
    try:
        nltk.data.find("tokenizers/punkt_tab/english/")
    except LookupError:
        # Appended, not prepended: a full model installed later at build time still wins the lookup.
        if str(BUNDLED_NLTK_DATA) not in nltk.data.path:
            nltk.data.path.append(str(BUNDLED_NLTK_DATA))
            logger.info("No punkt_tab data installed, using the bundled English model: %s", BUNDLED_NLTK_DATA)
