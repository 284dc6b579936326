"""All reads and writes of the task table. Each method is one short transaction."""

from __future__ import annotations

import builtins
import re
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, CursorResult, Delete, Result, Select, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import ACTIVE_STATUSES, SpeakerVoices, Task, TaskStatus, TaskType, utcnow
from app.json_types import JSONObject
from app.ml.results import Caption

StatementT = TypeVar("StatementT", Select[Task], Delete)
OWNER_FINGERPRINT = re.compile(r"[0-9a-f]{64}")

INTERRUPTED_MESSAGE = (
    "The worker running this task stopped before finishing it (crash, restart or lost heartbeat). "
    "Submit the task again."
)


class TaskRepository:
    """The task store. Workers own tasks through a renewable lease; expired leases are recovered."""

    def __init__(self, sessions: sessionmaker[Session], *, lease_seconds: float) -> None:
        self._sessions = sessions
        self.lease = timedelta(seconds=lease_seconds)

    def create(
        self,
        *,
        task_type: TaskType | str,
        params: JSONObject | None = None,
        file_name: str | None = None,
        url: str | None = None,
        language: str | None = None,
        audio_duration: float | None = None,
        external_job_id: str | None = None,
        worker_id: str | None = None,
        owner: str | None = None,
        identifier: str | None = None,
        upload_path: str | None = None,
        inputs: JSONObject | None = None,
    ) -> Task:
        """Queue a task. With `external_job_id` already recorded, return that task instead (idempotency).

        `worker_id` is the worker that will run it: its lease then covers the queued task too, so a task lost
        with a dead process is recovered like a running task. A task without a worker waits in the shared
        queue for any executor (`claim_next`). `owner` is the fingerprint of the API key that made it (64 hex
        digits), which lookups with that owner are limited to.
        """
        if owner is not None and not OWNER_FINGERPRINT.fullmatch(owner):
            raise ValueError("owner must be an API key fingerprint (64 hex digits)")
        task = Task(
            identifier=identifier or str(uuid.uuid4()),
            upload_path=upload_path,
            inputs=inputs,
            task_type=TaskType(task_type),
            params=params or {},
            file_name=file_name,
            url=url,
            language=language,
            audio_duration=audio_duration,
            external_job_id=external_job_id,
            worker_id=worker_id,
            owner=owner,
            lease_expires_at=utcnow() + self.lease if worker_id else None,
        )
        try:
            with self._sessions.begin() as session:
                session.add(task)
        except IntegrityError:
            existing = self.get_by_external_id(external_job_id) if external_job_id else None
            if existing is None:
                raise
            return existing
        return task

    def get(self, identifier: str, *, owner: str | None = None) -> Task | None:
        """The task, if it exists and (when `owner` is given) belongs to `owner`."""
        with self._sessions() as session:
            return session.scalar(_owned(select(Task).where(Task.identifier == identifier), owner))

    def keep_speaker_embeddings(self, identifier: str, embeddings: SpeakerVoices) -> None:
        """Keep a diarizing task's speakers' voices (`Task.speaker_embeddings`)."""
        with self._sessions.begin() as session:
            session.execute(
                update(Task).where(Task.identifier == identifier).values(speaker_embeddings=embeddings)
            )

    def get_by_external_id(self, external_job_id: str) -> Task | None:
        with self._sessions() as session:
            return session.scalar(select(Task).where(Task.external_job_id == external_job_id))

    def list(
        self,
        *,
        status: TaskStatus | str | None = None,
        task_type: TaskType | str | None = None,
        limit: int | None = 50,
        offset: int = 0,
        owner: str | None = None,
    ) -> tuple[Sequence[Task], int]:
        """A page of tasks (every one with no `limit`), newest first, and the total count matching the
        filters."""
        query = _owned(select(Task), owner)
        if status is not None:
            query = query.where(Task.status == TaskStatus(status))
        if task_type is not None:
            query = query.where(Task.task_type == TaskType(task_type))
        with self._sessions() as session:
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            page = session.scalars(
                query.order_by(Task.created_at.desc(), Task.id.desc()).limit(limit).offset(offset)
            ).all()
        return page, total

    def claim(self, identifier: str, *, worker_id: str) -> bool:
        """Move a queued task to processing for `worker_id`. Exactly one concurrent caller wins."""
        now = utcnow()
        return self._update(
            (Task.identifier == identifier, Task.status == TaskStatus.queued),
            status=TaskStatus.processing,
            worker_id=worker_id,
            lease_expires_at=now + self.lease,
            started_at=now,
        )

    def claim_next(self, *, worker_id: str) -> Task | None:
        """Claim the oldest task of the shared queue (queued, no worker) for `worker_id`, or None when empty.

        PostgreSQL skips rows another process is claiming (`FOR UPDATE SKIP LOCKED`); SQLite takes the write
        lock up front. Either way exactly one process gets each task.
        """
        now = utcnow()
        with self._sessions.begin() as session:
            task = session.scalar(
                select(Task)
                .where(Task.status == TaskStatus.queued, Task.worker_id.is_(None))
                .order_by(Task.created_at, Task.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if task is None:
                return None
            task.status = TaskStatus.processing
            task.worker_id = worker_id
            task.lease_expires_at = now + self.lease
            task.started_at = now
            return task

    def count_queued(self) -> int:
        """Tasks waiting in the shared queue."""
        with self._sessions() as session:
            query = select(func.count()).where(Task.status == TaskStatus.queued, Task.worker_id.is_(None))
            return session.scalar(query) or 0

    def active_among(self, identifiers: Collection[str]) -> set[str]:
        """Which of `identifiers` name tasks that are still queued or running."""
        if not identifiers:
            return set()
        with self._sessions() as session:
            query = select(Task.identifier).where(
                Task.identifier.in_(list(identifiers)), Task.status.in_(ACTIVE_STATUSES)
            )
            return set(session.scalars(query))

    def progress(
        self,
        identifier: str,
        *,
        worker_id: str,
        progress: float,
        stage: str | None = None,
        partial: builtins.list[Caption] | None = None,
    ) -> bool:
        """Record progress (and the segments decoded so far, when given) and renew the lease. False means the
        task is no longer this worker's to run (cancelled, recovered or deleted): the worker should stop."""
        published: dict[str, object] = {"partial": partial} if partial is not None else {}
        return self._update(
            (
                Task.identifier == identifier,
                Task.worker_id == worker_id,
                Task.status == TaskStatus.processing,
            ),
            progress=max(0.0, min(1.0, progress)),
            stage=stage,
            lease_expires_at=utcnow() + self.lease,
            **published,
        )

    def renew_leases(self, worker_id: str) -> int:
        """Extend the lease of every active task `worker_id` owns; returns how many."""
        with self._sessions.begin() as session:
            result = session.execute(
                update(Task)
                .where(Task.worker_id == worker_id, Task.status.in_(ACTIVE_STATUSES))
                .values(lease_expires_at=utcnow() + self.lease)
            )
            return _rows_changed(result)

    def complete(
        self,
        identifier: str,
        *,
        worker_id: str,
        result: Mapping[str, object],
        language: str | None = None,
        audio_duration: float | None = None,
    ) -> bool:
        """Store the result of a task this worker is processing. False if it was cancelled meanwhile."""

        def finish(task: Task) -> None:
            task.result = result
            task.progress = 1.0
            task.language = language or task.language
            task.audio_duration = audio_duration or task.audio_duration

        return self._finish(
            identifier, TaskStatus.completed, finish, worker_id=worker_id, allowed=(TaskStatus.processing,)
        )

    def fail(self, identifier: str, *, code: str, message: str, worker_id: str | None = None) -> bool:
        """Mark a queued or processing task failed with a stable error code."""

        def finish(task: Task) -> None:
            task.error_code = code
            task.error_message = message

        return self._finish(identifier, TaskStatus.failed, finish, worker_id=worker_id)

    def cancel(self, identifier: str, *, owner: str | None = None) -> bool:
        """Cancel a queued or processing task. A running task notices at its next progress update
        (the rule: `app.services.tasks.cancel_task`)."""

        def finish(task: Task) -> None:
            task.error_code = "cancelled"
            task.error_message = "The task was cancelled."

        return self._finish(identifier, TaskStatus.cancelled, finish, owner=owner)

    def delete(self, identifier: str, *, owner: str | None = None) -> bool:
        with self._sessions.begin() as session:
            result = session.execute(_owned(delete(Task).where(Task.identifier == identifier), owner))
            return bool(_rows_changed(result))

    def recover_expired(self, *, now: datetime | None = None) -> int:
        """Fail active tasks whose owner's lease expired (the owner died). Returns how many."""
        now = now or utcnow()
        with self._sessions.begin() as session:
            result = session.execute(
                update(Task)
                .where(
                    Task.status.in_(ACTIVE_STATUSES),
                    Task.lease_expires_at.is_not(None),
                    Task.lease_expires_at < now,
                )
                .values(
                    status=TaskStatus.failed,
                    error_code="interrupted",
                    error_message=INTERRUPTED_MESSAGE,
                    finished_at=now,
                    lease_expires_at=None,
                    partial=None,
                )
            )
            return _rows_changed(result)

    def _update(self, conditions: tuple[ColumnElement[bool], ...], **values: object) -> bool:
        with self._sessions.begin() as session:
            result = session.execute(update(Task).where(*conditions).values(**values))
            return _rows_changed(result) == 1

    def _finish(
        self,
        identifier: str,
        status: TaskStatus,
        apply: Callable[[Task], None],
        *,
        worker_id: str | None = None,
        owner: str | None = None,
        allowed: tuple[TaskStatus, ...] = ACTIVE_STATUSES,
    ) -> bool:
        with self._sessions.begin() as session:
            query = _owned(select(Task).where(Task.identifier == identifier, Task.status.in_(allowed)), owner)
            if worker_id is not None:
                query = query.where(Task.worker_id == worker_id)
            task = session.scalar(query.with_for_update())
            if task is None:
                return False
            now = utcnow()
            apply(task)
            task.status = status
            task.finished_at = now
            task.lease_expires_at = None
            task.partial = None  # the result, or nothing, replaces what was published while it ran
            if task.started_at is not None:
                task.duration = (now - task.started_at).total_seconds()
            return True


def _rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (the session types every result as a plain `Result`)."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} of a statement that changes no rows")
    return result.rowcount


def _owned(statement: StatementT, owner: str | None) -> StatementT:
    """`statement` limited to `owner`'s tasks; every task when `owner` is None (keys off, or the worker)."""
    return statement if owner is None else statement.where(Task.owner == owner)
