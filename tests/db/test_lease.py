import time

from sqlalchemy import Engine

from app.db.lease import LeaseKeeper
from app.db.models import TaskStatus, TaskType
from app.db.repository import TaskRepository
from app.db.session import make_session_factory


def test_heartbeat_keeps_a_live_workers_task_and_recovers_a_crashed_one(engine: Engine) -> None:
    """Two workers share one database; one dies mid-task. Only its task is recovered."""
    lease = 0.6
    live_worker = TaskRepository(make_session_factory(engine), lease_seconds=lease)
    crashed_worker = TaskRepository(make_session_factory(engine), lease_seconds=lease)
    live_task = live_worker.create(task_type=TaskType.full_process)
    crashed_task = crashed_worker.create(task_type=TaskType.full_process)
    assert live_worker.claim(live_task.identifier, worker_id="live")
    assert crashed_worker.claim(crashed_task.identifier, worker_id="crashed")  # and then it dies

    keeper = LeaseKeeper(live_worker, "live")
    keeper.start()
    try:
        time.sleep(lease * 4)  # several lease periods: the live lease must have been renewed meanwhile
        assert live_worker.get(crashed_task.identifier).status == TaskStatus.failed  # type: ignore[union-attr]
        assert live_worker.get(crashed_task.identifier).error_code == "interrupted"  # type: ignore[union-attr]
        assert live_worker.get(live_task.identifier).status == TaskStatus.processing  # type: ignore[union-attr]
        assert live_worker.progress(live_task.identifier, worker_id="live", progress=0.5)
    finally:
        keeper.stop()
