"""The webhook outbox: every delivery is a row, claimed by one process at a time until it is settled."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import DeliveryStatus, WebhookDelivery, utcnow


class DeliveryRepository:
    """Webhook deliveries. A claim lasts `claim_seconds`, longer than one attempt may take, so a row whose
    sender died is picked up again, and a live sender's row is never sent twice at once."""

    def __init__(self, sessions: sessionmaker[Session], *, claim_seconds: float = 60) -> None:
        self._sessions = sessions
        self.claim = timedelta(seconds=claim_seconds)

    def add(self, *, task_identifier: str, url: str, body: str, signature: str | None) -> WebhookDelivery:
        delivery = WebhookDelivery(task_identifier=task_identifier, url=url, body=body, signature=signature)
        with self._sessions.begin() as session:
            session.add(delivery)
        return delivery

    def claim_due(self, *, worker_id: str, task_identifier: str | None = None) -> WebhookDelivery | None:
        """Claim the pending delivery due soonest (of one task, when given), or None."""
        now = utcnow()
        query = (
            select(WebhookDelivery)
            .where(
                WebhookDelivery.status == DeliveryStatus.pending,
                WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.claim_expires_at.is_(None), WebhookDelivery.claim_expires_at < now),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if task_identifier is not None:
            query = query.where(WebhookDelivery.task_identifier == task_identifier)
        with self._sessions.begin() as session:
            delivery = session.scalar(query)
            if delivery is not None:
                delivery.claimed_by = worker_id
                delivery.claim_expires_at = now + self.claim
            return delivery

    def record(
        self,
        delivery_id: int,
        *,
        worker_id: str,
        delivered: bool,
        status_code: int | None = None,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        """Settle one attempt of a claimed delivery: delivered, retried at `retry_at`, or given up (neither)."""
        with self._sessions.begin() as session:
            delivery = session.scalar(
                select(WebhookDelivery)
                .where(WebhookDelivery.id == delivery_id, WebhookDelivery.claimed_by == worker_id)
                .with_for_update()
            )
            if delivery is None:
                return False
            delivery.attempts += 1
            delivery.last_status = status_code
            delivery.last_error = error
            delivery.claimed_by = None
            delivery.claim_expires_at = None
            if delivered:
                delivery.status = DeliveryStatus.delivered
                delivery.delivered_at = utcnow()
            elif retry_at is not None:
                delivery.next_attempt_at = retry_at
            else:
                delivery.status = DeliveryStatus.failed
            return True

    def latest_for(self, task_identifier: str) -> WebhookDelivery | None:
        with self._sessions() as session:
            return session.scalar(
                select(WebhookDelivery)
                .where(WebhookDelivery.task_identifier == task_identifier)
                .order_by(WebhookDelivery.id.desc())
                .limit(1)
            )
