"""Result webhooks from an outbox: each delivery is a row holding a signed JSON body, sent by a deliverer thread
(never the executor), retried with exponential backoff and jitter, and picked up again after a restart."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta

import httpx

from app.audio.fetch import checked_request
from app.db.models import WebhookDelivery, utcnow
from app.errors import ServiceError
from app.json_types import JSONObject
from app.observability import metrics
from app.runtime import Runtime
from app.schemas import WebhookBody
from app.task_schemas import TaskOut

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Webhook-Signature"
DELIVERER = "webhook-deliverer"
POLL_SECONDS = 0.5
SEND_TIMEOUT_S = 10


def task_body(task: TaskOut) -> JSONObject:
    """The webhook body of our own contract: the task as `GET /task/{id}` shows it, less its parameters."""
    return task.model_dump(mode="json", exclude={"params", "webhook"})  # JSON mode: JSON values only


# A webhook body shape (a job's `webhook_body`) -> how a finished task becomes that body (a JSON object, typed
# as its contract types it). Contracts whose callbacks take their own shape add theirs in
# `app.contracts.register_contracts`, which both entry points call.
BODY_SHAPES: dict[str, Callable[[TaskOut], Mapping[str, object]]] = {"task": task_body}


def sign(body: bytes, secret: str) -> str:
    """`sha256=<hex>` of the raw body, the value of the signature header."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def record_delivery(
    runtime: Runtime, task: TaskOut, url: str | None, shape: WebhookBody = "task", *, wake: bool = True
) -> bool:
    """Put a finished task's webhook in the outbox (to `url`, else the configured default; none without),
    its body in `shape`, and `wake` the deliverer (not when the caller sends it itself). False when there is
    nowhere to send it."""
    settings = runtime.settings.webhook
    url = url or settings.url
    if not url:
        return False
    body = json.dumps(BODY_SHAPES[shape](task), ensure_ascii=False)
    signature = sign(body.encode(), settings.secret.get_secret_value()) if settings.secret else None
    runtime.deliveries.add(task_identifier=task.identifier, url=url, body=body, signature=signature)
    deliverer = runtime.background.get(DELIVERER)
    if wake and isinstance(deliverer, WebhookDeliverer):
        deliverer.wake()
    return True


def _retry_delay(runtime: Runtime, attempts: int) -> float:
    settings = runtime.settings.webhook
    delay = min(settings.max_delay_s, settings.base_delay_s * 2.0 ** (attempts - 1))
    return delay * random.uniform(0.5, 1.0)  # jitter: receivers coming back are not hit all at once


def attempt_delivery(runtime: Runtime, delivery: WebhookDelivery) -> bool:
    """POST one claimed delivery and record the outcome; True when the receiver answered 2xx.

    The URL passes the same public-address check as audio URLs; a refused URL is never retried.
    """
    headers = {"Content-Type": "application/json"}
    if delivery.signature:
        headers[SIGNATURE_HEADER] = delivery.signature
    status_code: int | None = None
    error: str | None = None
    retry = True
    try:
        request = checked_request(
            delivery.url,
            runtime.settings.fetch,
            method="POST",
            content=delivery.body.encode(),
            headers=headers,
        )
        with httpx.Client(timeout=SEND_TIMEOUT_S) as client:
            status_code = client.send(request).status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except ServiceError as refused:
        error, retry = refused.message, False
    except httpx.HTTPError as failure:
        error = type(failure).__name__
    delivered = error is None
    attempts = delivery.attempts + 1
    retry_at = None
    if not delivered and retry and attempts < runtime.settings.webhook.attempts:
        retry_at = utcnow() + timedelta(seconds=_retry_delay(runtime, attempts))
    runtime.deliveries.record(
        delivery.id,
        worker_id=runtime.worker_id,
        delivered=delivered,
        status_code=status_code,
        error=error,
        retry_at=retry_at,
    )
    outcome = "delivered" if delivered else "retried" if retry_at else "refused" if not retry else "failed"
    metrics.WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()
    if not delivered:
        log.warning(
            "webhook for task %s: %s (attempt %d, %s)", delivery.task_identifier, error, attempts, outcome
        )
    return delivered


def deliver_due(runtime: Runtime, *, task_identifier: str | None = None) -> int:
    """Send every delivery that is due (of one task, when given), each attempted once; returns how many."""
    sent = 0
    claim = runtime.deliveries.claim_due
    while (delivery := claim(worker_id=runtime.worker_id, task_identifier=task_identifier)) is not None:
        attempt_delivery(runtime, delivery)
        sent += 1
    return sent


class WebhookDeliverer:
    """A daemon thread that sends due deliveries: woken by new ones, and polling for retries and for rows
    other processes (or an earlier life of this one) left."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=DELIVERER, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=SEND_TIMEOUT_S + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                deliver_due(self._runtime)
            except Exception:  # a database hiccup must not stop deliveries for good
                log.exception("webhook delivery pass failed; retrying")
            self._wake.wait(POLL_SECONDS)


def start_deliverer(runtime: Runtime) -> WebhookDeliverer:
    """The process's deliverer, started on first use."""
    return runtime.start_once(DELIVERER, lambda: WebhookDeliverer(runtime))
