"""Saved vocabularies' REST routes: saved, listed, read, replaced and deleted per API key, with the service's
error shape; and a transcribing request naming a vocabulary its key has not saved refused before it is queued."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.servers import Caller, in_process_app

KEY_A, KEY_B = "vocabulary-key-a-41c7", "vocabulary-key-b-8e02"
ACME: dict[str, Any] = {
    "name": "Acme sales.v2",
    "keyterms": ["Acme-Pro", "Zylofax", "acme-pro"],
    "replacements": {"acme pro": "Acme-Pro"},
}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    keys = json.dumps([KEY_A, KEY_B])
    with in_process_app(tmp_path_factory.mktemp("vocabularies"), API_KEYS=keys) as client:
        yield client


@pytest.fixture(scope="module")
def alice(service: TestClient) -> Caller:
    return Caller(service, KEY_A)


@pytest.fixture(scope="module")
def bob(service: TestClient) -> Caller:
    return Caller(service, KEY_B)


def error_of(answer: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = answer.json()["error"]
    return error


def test_a_vocabulary_is_saved_read_replaced_and_deleted(alice: Caller) -> None:
    saved = alice("POST", "/vocabularies", json=ACME)
    assert saved.status_code == 201, saved.text
    body = saved.json()
    # Keyterms are kept once each, compared case-insensitively.
    assert (body["name"], body["keyterms"], body["replacements"]) == (
        "Acme sales.v2",
        ["Acme-Pro", "Zylofax"],
        {"acme pro": "Acme-Pro"},
    )
    assert body["created_at"] == body["updated_at"] and body["created_at"].endswith(("Z", "+00:00"))

    again = alice("POST", "/vocabularies", json={**ACME, "keyterms": []})
    assert again.status_code == 409 and error_of(again)["code"] == "conflict", again.text
    assert alice("GET", "/vocabularies/Acme sales.v2").json() == body
    assert [item["name"] for item in alice("GET", "/vocabularies").json()] == ["Acme sales.v2"]

    replaced = alice("PUT", "/vocabularies/Acme sales.v2", json={"keyterms": ["Okonkwo"]})
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["keyterms"], replaced.json()["replacements"]) == (["Okonkwo"], {})
    assert replaced.json()["created_at"] == body["created_at"]
    assert replaced.json()["updated_at"] > body["updated_at"]
    assert alice("GET", "/vocabularies/Acme sales.v2").json() == replaced.json()

    deleted = alice("DELETE", "/vocabularies/Acme sales.v2")
    assert deleted.status_code == 204 and deleted.content == b""
    assert alice("GET", "/vocabularies").json() == []


def test_unknown_names_are_404_and_bad_requests_422(alice: Caller) -> None:
    for method, path, body in (
        ("GET", "/vocabularies/Nothing", None),
        ("PUT", "/vocabularies/Nothing", {"keyterms": ["x"]}),
        ("DELETE", "/vocabularies/Nothing", None),
    ):
        answer = alice(method, path, json=body)
        assert answer.status_code == 404, (method, answer.text)
        assert error_of(answer) == {"code": "not_found", "message": "Vocabulary 'Nothing' was not found"}

    for bad in (
        {"name": "a/b"},
        {"name": "..."},
        {"name": ""},
        {"name": "x" * 101},
        {"name": "ok", "keyterms": ["x" * 101]},
        {"name": "ok", "keyterms": [f"term {i}" for i in range(101)]},
        {"name": "ok", "replacements": {"": "x"}},
        {"name": "ok", "extra": 1},
    ):
        answer = alice("POST", "/vocabularies", json=bad)
        assert answer.status_code == 422 and error_of(answer)["code"] == "invalid_input", (bad, answer.text)
    # A replacement names no vocabulary: the one in the path is the one replaced.
    refused = alice("PUT", "/vocabularies/Nothing", json={"name": "Other"})
    assert refused.status_code == 422, refused.text
    assert alice("GET", "/vocabularies").json() == []


def test_each_key_has_its_own_vocabularies(alice: Caller, bob: Caller) -> None:
    mine = {"name": "Private", "keyterms": ["Alice"]}
    assert alice("POST", "/vocabularies", json=mine).status_code == 201
    assert bob("GET", "/vocabularies").json() == []
    for method, path, body in (
        ("GET", "/vocabularies/Private", None),
        ("PUT", "/vocabularies/Private", {"keyterms": ["Mallory"]}),
        ("DELETE", "/vocabularies/Private", None),
    ):
        assert bob(method, path, json=body).status_code == 404
    # Bob may save the same name; it is his own.
    assert bob("POST", "/vocabularies", json={"name": "Private", "keyterms": ["Bob"]}).status_code == 201
    assert alice("GET", "/vocabularies/Private").json()["keyterms"] == ["Alice"]
    assert bob("GET", "/vocabularies/Private").json()["keyterms"] == ["Bob"]
    assert alice("DELETE", "/vocabularies/Private").status_code == 204
    assert bob("GET", "/vocabularies/Private").status_code == 200


def test_a_job_naming_an_unsaved_vocabulary_is_refused_before_it_is_queued(
    alice: Caller, bob: Caller
) -> None:
    saved = {"name": "Spellings", "replacements": {"acme pro": "Acme-Pro"}}
    assert alice("POST", "/vocabularies", json=saved).status_code == 201
    # Not audio: a job that passes the checks before queuing is refused by the upload's probe instead.
    upload = {"file": ("call.wav", b"not audio at all", "application/octet-stream")}

    for caller, path in ((bob, "/service/transcribe"), (alice, "/speech-to-text")):
        name = "Spellings" if caller is bob else "Missing"
        refused = caller("POST", path, files=upload, data={"vocabulary": name})
        assert refused.status_code == 422, refused.text
        error = error_of(refused)
        assert error["code"] == "invalid_input" and repr(name) in error["message"], error
        assert error["details"] == [{"field": "vocabulary", "message": error["message"]}]

    known = alice("POST", "/service/transcribe", files=upload, data={"vocabulary": "Spellings"})
    assert error_of(known)["code"] == "not_audio", known.text
    for caller in (alice, bob):
        assert caller("GET", "/task/all").json()["total"] == 0
