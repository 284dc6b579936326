"""schemathesis against the running server's OpenAPI schema: no 500s, and every response as documented.

`positive_data_acceptance` is left out: the schema cannot say "bytes of a decodable audio file" or "a string
holding a JSON object", so schema-valid requests are rightly refused with 4xx. Every other check runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import api_server

pytestmark = pytest.mark.server  # starts a server or worker process: left out of `make check`

KEY = "schema-key-0c4f2a9d"


@pytest.mark.parametrize("keys", [[], [KEY]], ids=["open", "with API keys"])
def test_api_conforms_to_its_schema(tmp_path: Path, keys: list[str]) -> None:
    # With keys, the schema declares them, and schemathesis also checks that requests without a key, or with
    # a wrong one, are refused.
    schemathesis = Path(sys.executable).parent / "st"
    auth = ["--header", f"Authorization: Bearer {KEY}"] if keys else []
    with api_server(tmp_path, LIMITS__QUEUE_SIZE="64", API_KEYS=json.dumps(keys)) as base:
        result = subprocess.run(
            [
                str(schemathesis),
                "run",
                f"{base}/openapi.json",
                *auth,
                "--checks",
                "all",
                "--exclude-checks",
                "positive_data_acceptance",
                "--max-examples",
                "20",
                "--request-timeout",
                "60",
                "--generation-deterministic",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=900,
        )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
