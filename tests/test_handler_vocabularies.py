"""The worker's vocabulary actions through `handler(job)`: save, list, read, replace and delete a vocabulary;
a transcribing job naming one the worker has not saved, or whose keyterms with the job's pass Whisper's prompt
budget, is refused before a task is recorded."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from app.ml import transcription
from tests.corpus import silent_wav
from tests.servers import answered, error_of, in_process_worker, run_job


@pytest.fixture
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with in_process_worker(tmp_path_factory.mktemp("vocabulary-worker")):
        yield


def test_a_vocabulary_is_saved_listed_replaced_and_deleted(worker: None) -> None:
    saved = run_job(
        "create_vocabulary", name="Acme", keyterms=["Acme-Pro"], replacements={"acme pro": "Acme-Pro"}
    )
    assert (saved["identifier"], saved["message"]) == ("Acme", "vocabulary saved")
    vocabulary = answered(saved)
    assert (vocabulary["keyterms"], vocabulary["replacements"]) == (["Acme-Pro"], {"acme pro": "Acme-Pro"})
    assert error_of(run_job("create_vocabulary", name="Acme"))["code"] == "conflict"
    assert answered(run_job("list_vocabularies")) == [vocabulary]
    assert answered(run_job("get_vocabulary", name="Acme")) == vocabulary

    replaced = answered(run_job("update_vocabulary", name="Acme", keyterms=["Zylofax"]))
    assert (replaced["keyterms"], replaced["replacements"]) == (["Zylofax"], {})
    assert answered(run_job("get_vocabulary", name="Acme")) == replaced

    assert run_job("delete_vocabulary", name="Acme") == {
        "identifier": "Acme",
        "result": None,
        "message": "vocabulary deleted",
    }
    assert answered(run_job("list_vocabularies")) == []
    for action, fields in (
        ("get_vocabulary", {}),
        ("update_vocabulary", {"keyterms": ["x"]}),
        ("delete_vocabulary", {}),
    ):
        assert error_of(run_job(action, name="Acme", **fields))["code"] == "not_found", action
    assert error_of(run_job("create_vocabulary", name="a/b"))["code"] == "invalid_input"
    assert error_of(run_job("get_vocabulary"))["code"] == "invalid_input"
    assert error_of(run_job("list_vocabularies", name="Acme"))["code"] == "invalid_input"


def test_a_job_is_refused_before_a_task_is_recorded(worker: None, monkeypatch: pytest.MonkeyPatch) -> None:
    audio = base64.b64encode(silent_wav(1.0)).decode()
    missing = error_of(run_job("transcribe", file=audio, vocabulary="Missing"))
    assert missing["code"] == "invalid_input" and "'Missing'" in missing["message"], missing
    assert missing["details"] == [{"field": "vocabulary", "message": missing["message"]}]

    # One token per word stands in for Whisper's tokenizer: 60 saved terms of 3 words and the job's 20 pass its
    # 223-token budget together, not apart.
    monkeypatch.setattr(transcription, "token_ids", lambda _spec, texts: [text.split() for text in texts])
    terms = [f"alpha beta term{i}" for i in range(80)]
    answered(run_job("create_vocabulary", name="Long", keyterms=terms[:60]))
    over = error_of(run_job("speech_to_text", file=audio, vocabulary="Long", keyterms=terms[60:]))
    assert over["code"] == "prompt_too_long" and over["details"]["tokens"] == 240, over

    assert answered(run_job("get_all_tasks"))["total"] == 0
