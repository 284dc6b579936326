"""The webhook outbox on both backends: one claimant per delivery, retries when due, settled for good."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from app.db.models import DeliveryStatus, utcnow
from app.db.outbox import DeliveryRepository
from app.db.session import make_session_factory


def test_a_delivery_is_claimed_once_retried_when_due_and_settled(engine: Engine) -> None:
    outbox = DeliveryRepository(make_session_factory(engine), claim_seconds=60)
    delivery = outbox.add(task_identifier="t1", url="https://example.com/hook", body="{}", signature=None)

    claimed = outbox.claim_due(worker_id="a")
    assert claimed is not None and claimed.id == delivery.id
    assert outbox.claim_due(worker_id="b") is None, "a claimed delivery is not sent twice at once"
    assert not outbox.record(delivery.id, worker_id="b", delivered=True), "only the claimant settles it"

    later = utcnow() + timedelta(hours=1)
    assert outbox.record(delivery.id, worker_id="a", delivered=False, error="ConnectError", retry_at=later)
    assert outbox.claim_due(worker_id="b") is None, "not due before its retry time"
    state = outbox.latest_for("t1")
    assert state is not None and state.status == DeliveryStatus.pending and state.attempts == 1

    outbox.record(delivery.id, worker_id="a", delivered=False)  # not claimed any more: ignored
    assert outbox.latest_for("t1").attempts == 1  # type: ignore[union-attr]


def test_an_expired_claim_is_picked_up_and_a_given_up_delivery_stays_failed(engine: Engine) -> None:
    outbox = DeliveryRepository(make_session_factory(engine), claim_seconds=0)
    delivery = outbox.add(task_identifier="t2", url="https://example.com/hook", body="{}", signature="s")
    assert outbox.claim_due(worker_id="dead") is not None
    again = outbox.claim_due(worker_id="alive")
    assert again is not None and again.id == delivery.id, "a dead sender's claim lapses"
    assert outbox.record(delivery.id, worker_id="alive", delivered=False, status_code=500, error="HTTP 500")
    state = outbox.latest_for("t2")
    assert state is not None and state.status == DeliveryStatus.failed and state.last_status == 500
    assert outbox.claim_due(worker_id="alive") is None
