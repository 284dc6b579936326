"""Webhooks leave from an outbox: a receiver that is down while the server is killed and restarted still gets
each finished task's signed webhook, once."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import httpx
import pytest

from tests.reliability.helpers import recording_server, start, started, wait_until
from tests.servers import free_port

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(300)]

SECRET = "outbox-test-secret"
ENV = {
    "WEBHOOK__SECRET": SECRET,
    "WEBHOOK__ATTEMPTS": "100",
    "WEBHOOK__BASE_DELAY_S": "0.2",
    "WEBHOOK__MAX_DELAY_S": "0.5",
    "FETCH__ALLOW_PRIVATE_HOSTS": '["127.0.0.1"]',
}
COMBINE = {
    "aligned_transcript": {"segments": [{"start": 0.0, "end": 1.0, "text": "hi", "words": []}]},
    "diarization_result": [{"start": 0.0, "end": 1.0, "speaker": "SPEAKER_00"}],
}


def test_webhooks_reach_a_receiver_that_comes_back_after_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()  # nothing listens here yet: the receiver is down
    server = start("api", data_dir, **ENV)
    try:
        identifiers = []
        for n in range(2):
            answer = httpx.post(
                f"{server.base}/service/combine",
                json={**COMBINE, "webhook_url": f"http://127.0.0.1:{port}/hook/{n}"},
                params={"wait": "true"},
                timeout=60,
            )
            assert answer.status_code == 200, answer.text
            identifiers.append(answer.json()["identifier"])

        def failing(identifier: str) -> dict | None:
            webhook = httpx.get(f"{server.base}/task/{identifier}", timeout=10).json()["webhook"]
            return webhook if webhook and webhook["attempts"] >= 2 else None

        for identifier in identifiers:
            webhook = wait_until(lambda i=identifier: failing(i), timeout=30, what="failed attempts")
            assert webhook["status"] == "pending" and webhook["last_error"], webhook
        server.kill9()
    finally:
        server.stop()

    with recording_server(port=port) as receiver, started("api", data_dir, **ENV) as restarted:

        def delivered() -> list[dict] | None:
            tasks = [httpx.get(f"{restarted.base}/task/{i}", timeout=10).json() for i in identifiers]
            return tasks if all(t["webhook"]["status"] == "delivered" for t in tasks) else None

        tasks = wait_until(delivered, timeout=60, what="the webhooks after the restart")
        time.sleep(2)  # long enough for a duplicate to show up
        for n, task in enumerate(tasks):
            posts = receiver.posts(f"/hook/{n}")
            assert len(posts) == 1, f"task {n}: {len(posts)} deliveries"
            body = posts[0].body
            expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert posts[0].headers["X-Webhook-Signature"] == expected
            payload = json.loads(body)
            assert payload["identifier"] == task["identifier"] and payload["status"] == "completed"
            assert task["webhook"]["last_status"] == 200 and task["webhook"]["attempts"] >= 3
