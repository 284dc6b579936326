"""whisperX-FastAPI's `/speakers` routes (its branch `feat/462-speaker-embeddings`) over our voice library: its
own end-to-end tests replayed in order on one database, as it runs them; then, with the embedded diarizer on
pyannote's sample call, a speaker returned by `return_embeddings` is stored under a name and named in a later
diarization with `identify_speakers`, and `auto_store_speakers` keeps the speakers nobody matched."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.ml.campplus import DIMENSION
from tests.corpus import SAMPLE_WAV
from tests.servers import finished, in_process_app


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with in_process_app(tmp_path_factory.mktemp("speakers")) as client:
        yield client


def vector(*values: float) -> list[float]:
    """A voice's embedding here: `values`, then zeros up to the voice embedding's dimension (its tests use three or
    fewer; another dimension is refused)."""
    return [*values, *[0.0] * (DIMENSION - len(values))]


# Its tests, in its order, sharing one database (vectors brought to our dimension).


def test_create_speaker(client: TestClient) -> None:
    response = client.post(
        "/speakers",
        json={"speaker_label": "Alice", "embedding": vector(0.1, 0.2, 0.3), "description": "Project manager"},
    )
    assert response.status_code == 201
    assert "uuid" in response.json() and response.json()["message"] == "Speaker created"


def test_list_speakers(client: TestClient) -> None:
    response = client.get("/speakers")
    assert response.status_code == 200 and isinstance(response.json(), list)


def test_crud_flow(client: TestClient) -> None:
    created = client.post(
        "/speakers",
        json={"speaker_label": "Bob", "embedding": vector(0.5, -0.5, 0.0), "description": "Engineer"},
    )
    assert created.status_code == 201
    uuid = created.json()["uuid"]
    speaker = client.get(f"/speakers/{uuid}").json()
    assert (speaker["speaker_label"], speaker["description"]) == ("Bob", "Engineer")
    assert speaker["embedding"] == vector(0.5, -0.5, 0.0) and speaker["task_uuid"] is None
    updated = client.put(
        f"/speakers/{uuid}", json={"speaker_label": "Robert", "description": "Senior engineer"}
    )
    assert updated.status_code == 200
    speaker = client.get(f"/speakers/{uuid}").json()
    assert (speaker["speaker_label"], speaker["description"]) == ("Robert", "Senior engineer")
    assert client.delete(f"/speakers/{uuid}").status_code == 200
    assert client.get(f"/speakers/{uuid}").status_code == 404


def test_get_nonexistent_speaker_is_its_not_found(client: TestClient) -> None:
    response = client.get("/speakers/nonexistent-uuid")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "SPEAKER_NOT_FOUND" and error["service_code"] == "not_found"
    assert error["correlation_id"] == response.headers["X-Request-ID"]


def test_search_speakers(client: TestClient) -> None:
    # A second "Alice": labels may repeat here, as they may in whisperX-FastAPI.
    alice = client.post("/speakers", json={"speaker_label": "Alice", "embedding": vector(1.0, 0.0, 0.0)})
    assert alice.status_code == 201
    client.post("/speakers", json={"speaker_label": "Bob", "embedding": vector(0.0, 1.0, 0.0)})
    response = client.post(
        "/speakers/search", json={"embedding": vector(0.9, 0.1, 0.0), "limit": 5, "threshold": 0.5}
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert results[0]["speaker"]["speaker_label"] == "Alice" and results[0]["similarity"] > 0.9
    assert [result["similarity"] for result in results] == sorted(
        (r["similarity"] for r in results), reverse=True
    )
    assert all(result["similarity"] >= 0.5 for result in results)


def test_identify_speaker(client: TestClient) -> None:
    client.post("/speakers", json={"speaker_label": "Charlie", "embedding": vector(0.0, 0.0, 1.0)})
    response = client.post(
        "/speakers/identify", json={"embedding": vector(0.05, 0.05, 0.95), "threshold": 0.8}
    )
    assert response.status_code == 200
    assert response.json()["speaker"]["speaker_label"] == "Charlie" and response.json()["similarity"] > 0.9


def test_identify_speaker_no_match(client: TestClient) -> None:
    response = client.post(
        "/speakers/identify", json={"embedding": vector(0.0, 0.0, 0.0, 1.0), "threshold": 0.99}
    )
    assert response.status_code == 404


def test_create_speaker_with_task_uuid(client: TestClient) -> None:
    created = client.post(
        "/speakers", json={"speaker_label": "Linked", "embedding": vector(0.1, 0.2), "task_uuid": "task-123"}
    )
    assert created.status_code == 201
    listed = client.get("/speakers?task_id=task-123").json()
    assert [speaker["uuid"] for speaker in listed] == [created.json()["uuid"]]
    assert listed[0]["task_uuid"] == "task-123"


def test_delete_speakers_by_task(client: TestClient) -> None:
    for label, value in (("S1", 0.1), ("S2", 0.2)):
        client.post(
            "/speakers", json={"speaker_label": label, "embedding": vector(value), "task_uuid": "task-del"}
        )
    response = client.delete("/speakers?task_id=task-del")
    assert response.status_code == 200 and response.json()["message"] == "Deleted 2 speaker(s)"
    assert client.get("/speakers?task_id=task-del").json() == []


def test_update_nonexistent_speaker(client: TestClient) -> None:
    assert client.put("/speakers/nonexistent", json={"speaker_label": "Ghost"}).status_code == 404


def test_update_empty_body(client: TestClient) -> None:
    uuid = client.post("/speakers", json={"speaker_label": "Temp", "embedding": vector(0.1)}).json()["uuid"]
    assert client.put(f"/speakers/{uuid}", json={}).status_code == 422


# Beyond its tests.


@pytest.mark.parametrize(
    "body",
    [
        # A diarizer's label would be confused with the speakers of later recordings.
        {"speaker_label": "SPEAKER_00", "embedding": vector(0.1)},
        {"speaker_label": "Dana", "embedding": []},
        {"speaker_label": " ", "embedding": vector(0.1)},
        {"speaker_label": "Dana"},
        {"speaker_label": "Dana", "embedding": vector(0.1), "colour": "blue"},
        # Another model's vector (pyannote's WeSpeaker gives 256): its similarities to ours mean nothing.
        {"speaker_label": "Dana", "embedding": [0.1] * 256},
    ],
)
def test_bad_speakers_are_refused_and_stored_nowhere(client: TestClient, body: dict[str, Any]) -> None:
    before = len(client.get("/speakers", params={"limit": 1000}).json())
    response = client.post("/speakers", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["service_code"] == "invalid_input"
    assert len(client.get("/speakers", params={"limit": 1000}).json()) == before


def test_a_speaker_listed_here_is_a_voice_of_the_library(client: TestClient) -> None:
    uuid = client.post("/speakers", json={"speaker_label": "Erin", "embedding": vector(0.3, 0.4)}).json()[
        "uuid"
    ]
    voice = client.get(f"/voices/{uuid}").json()
    assert (voice["name"], voice["clips"]) == ("Erin", 0)
    page = client.get("/speakers", params={"limit": 2, "offset": 1}).json()
    labels = [speaker["speaker_label"] for speaker in client.get("/speakers", params={"limit": 1000}).json()]
    assert labels == sorted(labels) and [speaker["speaker_label"] for speaker in page] == labels[1:3]


def _diarized(client: TestClient, **query: str) -> dict[str, Any]:
    files = {"file": ("sample.wav", SAMPLE_WAV.read_bytes())}
    response = client.post("/service/diarize", params=query, files=files)
    assert response.status_code == 200, response.text
    return finished(client, response.json()["identifier"], timeout=300)


@pytest.mark.slow
def test_a_returned_embedding_stored_as_a_speaker_names_that_speaker_later(client: TestClient) -> None:
    first = _diarized(client, return_embeddings="true")
    embeddings = first["result"]["speaker_embeddings"]
    turns = first["result"]["segments"]
    assert sorted(embeddings) == ["SPEAKER_00", "SPEAKER_01"] == sorted({turn["speaker"] for turn in turns})
    assert all(len(vector) == DIMENSION for vector in embeddings.values())

    dana = client.post("/speakers", json={"speaker_label": "Dana", "embedding": embeddings["SPEAKER_00"]})
    found = client.post("/speakers/identify", json={"embedding": embeddings["SPEAKER_00"]}).json()
    assert (found["speaker"]["uuid"], found["similarity"]) == (dana.json()["uuid"], 1.0)

    later = _diarized(client, identify_speakers="true", auto_store_speakers="true")
    assert isinstance(later["result"], list)  # no embeddings asked for: its plain list of turns
    speakers = {turn["speaker"] for turn in later["result"]}
    assert speakers == {"Dana", "SPEAKER_01"}
    # The speaker nobody matched is stored, taken from the task.
    stored = client.get("/speakers", params={"task_id": later["identifier"]}).json()
    assert [speaker["speaker_label"] for speaker in stored] == [f"SPEAKER_01 of task {later['identifier']}"]
    assert len(stored[0]["embedding"]) == DIMENSION
    # Both stored voices now name both speakers.
    named = _diarized(client, identify_speakers="true")
    assert {turn["speaker"] for turn in named["result"]} == {"Dana", stored[0]["speaker_label"]}
    assert client.delete("/speakers", params={"task_id": later["identifier"]}).json()["message"] == (
        "Deleted 1 speaker(s)"
    )


@pytest.mark.parametrize("route", ["/speakers/search", "/speakers/identify"])
def test_another_models_vector_is_compared_with_nothing(client: TestClient, route: str) -> None:
    response = client.post(route, json={"embedding": [0.1, 0.2, 0.3]})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["service_code"] == "invalid_input" and "192 dimensions" in error["message"], error
