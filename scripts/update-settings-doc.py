"""Rewrite the settings table in docs/configuration.md from the Settings model (between the settings markers)."""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.config import settings_table  # noqa: E402

document = ROOT / "docs" / "configuration.md"
text = document.read_text()
updated = re.sub(
    r"(<!-- settings:start -->\n).*?(\n<!-- settings:end -->)",
    lambda match: match.group(1) + settings_table() + match.group(2),
    text,
    flags=re.S,
)
document.write_text(updated)
