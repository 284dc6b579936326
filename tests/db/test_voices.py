"""The voice library's tables on both backends: names unique per owner, owners apart, clips kept as PCM,
embeddings per diarizer read back as one matrix, and nothing left behind a deleted voice."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import Engine, func, select

from app.db.models import VoiceClip, VoiceEmbedding
from app.db.session import make_session_factory
from app.db.voices import NameTaken, VoiceRepository

ALICE, BOB = "a" * 64, "b" * 64


def test_voices_are_named_once_per_owner_and_kept_apart(engine: Engine) -> None:
    voices = VoiceRepository(make_session_factory(engine))
    clip = np.sin(np.linspace(0, 400, 16_000 * 3)).astype(np.float32) * 0.5
    dana = voices.create(owner=ALICE, name="Dana", description="host", clips=[(clip, None)])
    with pytest.raises(NameTaken):
        voices.create(owner=ALICE, name="Dana", description=None, clips=[])
    bobs_dana = voices.create(owner=BOB, name="Dana", description=None, clips=[])  # another owner's Dana
    keyless = voices.create(owner=None, name="Dana", description=None, clips=[])
    with pytest.raises(NameTaken):
        voices.create(owner=None, name="Dana", description=None, clips=[])

    record = voices.get(ALICE, dana)
    assert record is not None and (record.name, record.description, record.clips, record.seconds) == (
        "Dana",
        "host",
        1,
        3.0,
    )
    assert voices.get(BOB, dana) is None and voices.get(None, dana) is None
    assert [r.identifier for r in voices.list(BOB)] == [bobs_dana]
    assert [r.identifier for r in voices.list(None)] == [keyless]
    assert voices.by_name(ALICE, ["Dana", "Eve"]) == {"Dana": dana}
    # 16-bit PCM: what comes back is the clip to within one step.
    (kept,) = voices.clips(ALICE, dana)
    assert np.abs(kept - clip).max() < 1e-4

    assert voices.update(ALICE, dana, name="Dana K.")
    assert not voices.update(BOB, dana, name="Mallory")
    voices.create(owner=ALICE, name="Eve", description=None, clips=[])
    with pytest.raises(NameTaken):
        voices.update(ALICE, dana, name="Eve")
    assert [r.name for r in voices.list(ALICE, name_contains="dan")] == ["Dana K."]


def test_embeddings_are_kept_per_diarizer_and_dropped_with_new_clips_or_the_voice(engine: Engine) -> None:
    voices = VoiceRepository(make_session_factory(engine))
    clip = np.zeros(16_000 * 2, dtype=np.float32)
    first = voices.create(
        owner=ALICE, name="One", description=None, clips=[(clip, "https://example.com/1.wav")]
    )
    second = voices.create(owner=ALICE, name="Two", description=None, clips=[(clip, None)])
    voices.set_embedding(ALICE, first, "embedded", np.array([1.0, 0.0, 0.0]))
    voices.set_embedding(ALICE, second, "embedded", np.array([0.0, 1.0, 0.0]))
    voices.set_embedding(ALICE, first, "hub", np.array([0.5, 0.5]))
    voices.set_embedding(ALICE, first, "embedded", np.array([0.0, 0.0, 1.0]))  # replaces, never duplicates

    identifiers, names, matrix = voices.embeddings(ALICE, "embedded", 3)
    assert identifiers == [first, second] and names == ["One", "Two"]
    assert matrix.tolist() == [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    assert voices.embeddings(ALICE, "embedded", 3, names=["Two"])[1] == ["Two"]
    assert voices.embeddings(BOB, "embedded", 3)[0] == []
    assert voices.embeddings(ALICE, "hub", 3)[0] == [] and voices.embeddings(ALICE, None, 2)[0] == [first]
    assert voices.unembedded(ALICE, "hub") == [second]
    assert voices.get(ALICE, first).backends == ("embedded", "hub")  # type: ignore[union-attr]

    assert voices.add_clips(ALICE, first, [(clip, None)])
    assert voices.unembedded(ALICE, "embedded") == [first]  # out of date: embedded again on next use
    assert voices.get(ALICE, first).clips == 2  # type: ignore[union-attr]

    assert not voices.delete(BOB, first)
    assert voices.delete(ALICE, first)
    with engine.connect() as connection:
        for table in (VoiceClip, VoiceEmbedding):
            left = connection.scalar(select(func.count()).select_from(table).where(table.voice_id != -1))
            assert left == 1  # the second voice's only
