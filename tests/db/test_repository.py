import threading
from datetime import UTC, timedelta

import pytest

from app.db.models import TaskStatus, TaskType, utcnow
from app.db.repository import TaskRepository


def test_create_and_get(tasks: TaskRepository) -> None:
    task = tasks.create(
        task_type=TaskType.full_process,
        params={"model_params": {"language": "en"}},
        file_name="call.wav",
        audio_duration=12.5,
    )
    loaded = tasks.get(task.identifier)
    assert loaded is not None
    assert loaded.status == TaskStatus.queued
    assert loaded.task_type == TaskType.full_process
    assert loaded.params == {"model_params": {"language": "en"}}
    assert loaded.file_name == "call.wav"
    assert loaded.audio_duration == 12.5
    assert loaded.progress == 0.0
    assert loaded.created_at.tzinfo is not None and loaded.created_at.utcoffset() == timedelta(0)
    assert tasks.get("no-such-task") is None


def test_rejects_unknown_task_type(tasks: TaskRepository) -> None:
    with pytest.raises(ValueError):
        tasks.create(task_type="paint")


def test_external_job_id_makes_create_idempotent(tasks: TaskRepository) -> None:
    first = tasks.create(task_type=TaskType.transcription, external_job_id="runpod-job-1")
    again = tasks.create(task_type=TaskType.transcription, external_job_id="runpod-job-1")
    other = tasks.create(task_type=TaskType.transcription, external_job_id="runpod-job-2")
    assert again.identifier == first.identifier
    assert other.identifier != first.identifier
    assert tasks.get_by_external_id("runpod-job-1").identifier == first.identifier  # type: ignore[union-attr]
    # Tasks without an external id never collide.
    tasks.create(task_type=TaskType.transcription)
    tasks.create(task_type=TaskType.transcription)
    assert tasks.list(limit=100)[1] == 4


def test_claim_progress_complete(tasks: TaskRepository) -> None:
    task = tasks.create(task_type=TaskType.transcription)
    assert tasks.claim(task.identifier, worker_id="w1")
    assert not tasks.claim(task.identifier, worker_id="w2"), "a claimed task cannot be claimed again"
    assert tasks.progress(task.identifier, worker_id="w1", progress=0.5, stage="transcribe")
    assert not tasks.progress(task.identifier, worker_id="w2", progress=0.9), "only the owner reports"
    running = tasks.get(task.identifier)
    assert running.status == TaskStatus.processing and running.progress == 0.5  # type: ignore[union-attr]
    assert running.stage == "transcribe" and running.started_at is not None  # type: ignore[union-attr]
    assert running.lease_expires_at > utcnow()  # type: ignore[union-attr,operator]

    assert not tasks.complete(task.identifier, worker_id="w2", result={}), "only the owner completes"
    assert tasks.complete(task.identifier, worker_id="w1", result={"text": "hi"}, language="en")
    done = tasks.get(task.identifier)
    assert done is not None
    assert done.status == TaskStatus.completed
    assert done.result == {"text": "hi"} and done.language == "en" and done.progress == 1.0
    assert done.finished_at is not None and done.finished_at >= done.started_at  # type: ignore[operator]
    assert done.duration is not None and done.duration >= 0
    assert done.lease_expires_at is None
    assert not tasks.complete(task.identifier, worker_id="w1", result={}), "a finished task stays finished"


@pytest.mark.parametrize("ending", ["complete", "fail", "cancel", "recover"])
def test_segments_so_far_are_kept_while_running_and_dropped_at_the_end(
    tasks: TaskRepository, ending: str
) -> None:
    task = tasks.create(task_type=TaskType.transcription)
    tasks.claim(task.identifier, worker_id="w1")
    first = [{"start": 0.0, "end": 1.5, "text": " One."}]
    both = [*first, {"start": 1.5, "end": 3.0, "text": " Two, naïve café."}]
    assert tasks.progress(task.identifier, worker_id="w1", progress=0.2, stage="transcribe", partial=first)
    assert tasks.get(task.identifier).partial == first  # type: ignore[union-attr]
    assert tasks.progress(task.identifier, worker_id="w1", progress=0.4, stage="transcribe", partial=both)
    assert tasks.progress(task.identifier, worker_id="w1", progress=0.6, stage="align")
    assert tasks.get(task.identifier).partial == both  # type: ignore[union-attr]
    if ending == "complete":
        tasks.complete(task.identifier, worker_id="w1", result={"segments": both})
    elif ending == "fail":
        tasks.fail(task.identifier, code="internal_error", message="x", worker_id="w1")
    elif ending == "cancel":
        tasks.cancel(task.identifier)
    else:
        assert tasks.recover_expired(now=utcnow() + timedelta(seconds=120)) == 1
    assert tasks.get(task.identifier).partial is None  # type: ignore[union-attr]


def test_fail_records_code_and_message(tasks: TaskRepository) -> None:
    queued = tasks.create(task_type=TaskType.diarization)
    assert tasks.fail(queued.identifier, code="not_audio", message="That file is not audio.")
    failed = tasks.get(queued.identifier)
    assert failed.status == TaskStatus.failed and failed.error_code == "not_audio"  # type: ignore[union-attr]
    assert failed.error_message == "That file is not audio."  # type: ignore[union-attr]
    assert not tasks.fail(queued.identifier, code="internal_error", message="again")


def test_cancel_queued_and_running(tasks: TaskRepository) -> None:
    queued = tasks.create(task_type=TaskType.transcription)
    assert tasks.cancel(queued.identifier)
    assert not tasks.claim(queued.identifier, worker_id="w1"), "a cancelled task never runs"

    running = tasks.create(task_type=TaskType.transcription)
    tasks.claim(running.identifier, worker_id="w1")
    assert tasks.cancel(running.identifier)
    assert not tasks.progress(running.identifier, worker_id="w1", progress=0.5), "the worker learns to stop"
    assert not tasks.complete(running.identifier, worker_id="w1", result={})
    cancelled = tasks.get(running.identifier)
    assert cancelled.status == TaskStatus.cancelled and cancelled.result is None  # type: ignore[union-attr]
    assert not tasks.cancel(running.identifier)
    assert not tasks.cancel("no-such-task")


def test_delete(tasks: TaskRepository) -> None:
    task = tasks.create(task_type=TaskType.transcription)
    assert tasks.delete(task.identifier)
    assert tasks.get(task.identifier) is None
    assert not tasks.delete(task.identifier)


def test_list_paginates_newest_first_and_filters(tasks: TaskRepository) -> None:
    created = [
        tasks.create(task_type=TaskType.transcription if i % 2 else TaskType.diarization) for i in range(7)
    ]
    tasks.claim(created[0].identifier, worker_id="w1")
    page1, total = tasks.list(limit=3, offset=0)
    page3, _ = tasks.list(limit=3, offset=6)
    assert total == 7
    assert [t.identifier for t in page1] == [t.identifier for t in reversed(created)][:3]
    assert [t.identifier for t in page3] == [created[0].identifier]
    everything = [t.identifier for offset in (0, 3, 6) for t in tasks.list(limit=3, offset=offset)[0]]
    assert sorted(everything) == sorted(t.identifier for t in created)

    transcriptions, count = tasks.list(task_type=TaskType.transcription)
    assert count == 3 and all(t.task_type == TaskType.transcription for t in transcriptions)
    processing, count = tasks.list(status=TaskStatus.processing)
    assert count == 1 and processing[0].identifier == created[0].identifier
    _, count = tasks.list(status="completed", task_type="diarization")
    assert count == 0


def test_claim_race_has_exactly_one_winner(tasks: TaskRepository) -> None:
    def race(identifier: str) -> list[str]:
        barrier = threading.Barrier(2)
        wins: list[str] = []

        def contend(worker: str) -> None:
            barrier.wait()
            if tasks.claim(identifier, worker_id=worker):
                wins.append(worker)

        threads = [threading.Thread(target=contend, args=(f"w{i}",)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return wins

    for _ in range(5):
        task = tasks.create(task_type=TaskType.transcription)
        wins = race(task.identifier)
        assert len(wins) == 1
        assert tasks.get(task.identifier).worker_id == wins[0]  # type: ignore[union-attr]


def test_recovery_fails_a_dead_workers_tasks_and_spares_a_live_ones(tasks: TaskRepository) -> None:
    dead = tasks.create(task_type=TaskType.full_process)
    dead_queue = tasks.create(task_type=TaskType.full_process, worker_id="dead-worker")
    live = tasks.create(task_type=TaskType.full_process)
    unowned = tasks.create(task_type=TaskType.full_process)
    tasks.claim(dead.identifier, worker_id="dead-worker")
    tasks.claim(live.identifier, worker_id="live-worker")

    # The dead worker's lease lapses; the live worker keeps renewing.
    later = utcnow() + tasks.lease + timedelta(seconds=1)
    tasks.lease += timedelta(seconds=10)
    assert tasks.renew_leases("live-worker") == 1
    assert tasks.recover_expired(now=later) == 2

    for identifier in (dead.identifier, dead_queue.identifier):
        recovered = tasks.get(identifier)
        assert recovered.status == TaskStatus.failed  # type: ignore[union-attr]
        assert recovered.error_code == "interrupted"  # type: ignore[union-attr]
        assert "stopped before finishing" in recovered.error_message  # type: ignore[union-attr,operator]
    assert tasks.get(live.identifier).status == TaskStatus.processing  # type: ignore[union-attr]
    assert tasks.get(unowned.identifier).status == TaskStatus.queued  # type: ignore[union-attr]
    assert not tasks.progress(dead.identifier, worker_id="dead-worker", progress=0.9)
    assert tasks.recover_expired(now=later) == 0


def test_timestamps_are_utc(tasks: TaskRepository) -> None:
    task = tasks.create(task_type=TaskType.transcription)
    tasks.claim(task.identifier, worker_id="w1")
    loaded = tasks.get(task.identifier)
    for stamp in (loaded.created_at, loaded.started_at, loaded.lease_expires_at):  # type: ignore[union-attr]
        assert stamp is not None and stamp.tzinfo is not None
        assert stamp.astimezone(UTC) == stamp
