"""Result and progress webhooks: JSON POSTs, HMAC-SHA256 signed, retried with exponential backoff."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

import httpx

from app.audio.fetch import checked_request
from app.config import FetchSettings, Settings, WebhookSettings
from app.errors import ServiceError
from app.schemas import TaskOut

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Webhook-Signature"


def sign(body: bytes, secret: str) -> str:
    """`sha256=<hex>` of the raw body, the value of the signature header."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver_webhook(
    url: str,
    payload: dict[str, Any],
    *,
    settings: WebhookSettings,
    fetch: FetchSettings,
    sleep: Any = time.sleep,
) -> bool:
    """POST `payload` to `url`, retrying failures with backoff; True once a 2xx answer arrives.

    The URL passes the same public-address check as audio URLs. Failures are logged, never raised.
    """
    body = json.dumps(payload, ensure_ascii=False, default=str).encode()
    headers = {"Content-Type": "application/json"}
    if settings.secret is not None:
        headers[SIGNATURE_HEADER] = sign(body, settings.secret.get_secret_value())
    for attempt in range(settings.attempts):
        if attempt:
            sleep(min(settings.max_delay_s, settings.base_delay_s * 2 ** (attempt - 1)))
        try:
            request = checked_request(url, fetch, method="POST", content=body, headers=headers)
            with httpx.Client(timeout=10) as client:
                response = client.send(request)
            if response.is_success:
                return True
            log.warning("webhook answered HTTP %d (attempt %d)", response.status_code, attempt + 1)
        except ServiceError as error:
            log.warning("webhook not sent: %s", error.message)
            return False
        except httpx.HTTPError as error:
            log.warning("webhook failed: %s (attempt %d)", type(error).__name__, attempt + 1)
    return False


def notify_task(settings: Settings, task: TaskOut, url: str | None) -> None:
    """Send a finished task to `url`, or to the configured default webhook; nothing when neither is set."""
    url = url or settings.webhook.url
    if url:
        deliver_webhook(
            url,
            task.model_dump(mode="json", exclude={"params"}),
            settings=settings.webhook,
            fetch=settings.fetch,
        )
