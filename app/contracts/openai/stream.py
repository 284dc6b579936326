"""OpenAI's streamed transcription: a queued task followed through its row, its published segments becoming
`transcript.text.delta` events in order and its result `transcript.text.done`.

The task row is read, not a process's memory, so the stream follows the task whichever process sharing the
database runs it.
"""

from __future__ import annotations

from app.contracts.openai.mapping import stream_delta, stream_done
from app.contracts.openai.shapes import TextDelta, TextDone
from app.db.models import ACTIVE_STATUSES
from app.runtime import Runtime
from app.services.tasks import get_task, task_outcome


class TranscriptStream:
    """The events of one transcription task, as they become known."""

    def __init__(self, runtime: Runtime, identifier: str) -> None:
        self.runtime = runtime
        self.identifier = identifier
        self.sent = 0
        self.finished = False

    def next_events(self) -> list[TextDelta | TextDone]:
        """Events for the segments published since the last call, and `done` once the task has completed
        (then `finished` is set). A task that failed or was cancelled raises its error."""
        task = get_task(self.runtime, self.identifier)
        if task.status in ACTIVE_STATUSES:
            segments = task.partial or []
        else:
            self.finished = True
            segments = task_outcome(task)["segments"]
        events: list[TextDelta | TextDone] = [
            stream_delta(segment, first=index == 0)
            for index, segment in enumerate(segments[self.sent :], start=self.sent)
        ]
        self.sent = len(segments)
        if self.finished and task.result is not None:
            events.append(stream_done(task.result))
        return events

    def abandon(self) -> None:
        """The client left before the end: cancel the task (a running one stops at its next progress
        report, as `tasks.cancel_task` says)."""
        if not self.finished and self.runtime.tasks.cancel(self.identifier):
            self.finished = True
