"""`/v1/realtime` in this process: the key, the session's configuration and every refusal, each event shaped
as the official client types it. (Transcription through the official client: tests/api/test_realtime.py.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from tests.realtime import checked, pcm24, pieces
from tests.servers import in_process_app

KEY = "live-key"
URL = "/v1/realtime?intent=transcription"
BEARER = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    env = {
        "API_KEYS": json.dumps([KEY]),
        "REALTIME__MAX_BUFFER_SECONDS": "1",
        "REALTIME__MAX_SESSIONS": "1",
    }
    with in_process_app(tmp_path_factory.mktemp("realtime"), **env) as client:
        yield client


def receive(ws: Any) -> dict[str, Any]:
    raw = ws.receive_json()
    checked(raw)
    return raw  # type: ignore[no-any-return]


def error_of(ws: Any, event: dict[str, Any] | str) -> dict[str, Any]:
    ws.send_text(event if isinstance(event, str) else json.dumps(event))
    raw = receive(ws)
    assert raw["type"] == "error", raw
    return raw["error"]  # type: ignore[no-any-return]


def update(ws: Any, **session: Any) -> dict[str, Any]:
    ws.send_json({"type": "session.update", "session": {"type": "transcription", **session}})
    raw = receive(ws)
    assert raw["type"] == "session.updated", raw
    return raw["session"]  # type: ignore[no-any-return]


def test_a_socket_without_a_valid_key_is_refused_with_openais_401(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        with (
            pytest.raises(WebSocketDenialResponse) as refused,
            client.websocket_connect(URL, headers=headers),
        ):
            pass
        assert refused.value.status_code == 401
        assert refused.value.json()["error"]["code"] == "invalid_api_key"


def test_the_browser_key_subprotocol_opens_a_session_with_openais_defaults(client: TestClient) -> None:
    protocols = ["realtime", f"openai-insecure-api-key.{KEY}"]
    with client.websocket_connect(URL, subprotocols=protocols) as ws:
        assert ws.accepted_subprotocol == "realtime"
        created = receive(ws)
    assert created["type"] == "session.created"
    session = created["session"]
    assert session["type"] == "transcription" and session["id"].startswith("sess_")
    assert session["audio"]["input"] == {
        "format": {"type": "audio/pcm", "rate": 24000},
        "transcription": {"model": "whisper-1", "language": None, "prompt": ""},
        "noise_reduction": None,
        "turn_detection": {
            "type": "server_vad",
            "threshold": 0.5,
            "prefix_padding_ms": 300,
            "silence_duration_ms": 500,
        },
    }


def test_an_update_changes_only_what_it_names(client: TestClient) -> None:
    with client.websocket_connect(URL, headers=BEARER) as ws:
        receive(ws)
        vad = update(ws, audio={"input": {"turn_detection": {"type": "server_vad", "threshold": 0.7}}})
        assert vad["audio"]["input"]["turn_detection"]["threshold"] == 0.7
        assert vad["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 500
        session = update(
            ws,
            audio={
                "input": {
                    "format": {"type": "audio/pcmu"},
                    "noise_reduction": {"type": "near_field"},
                    "transcription": {"model": "gpt-4o-transcribe", "language": "en", "prompt": "Acme"},
                    "turn_detection": None,
                }
            },
            include=["item.input_audio_transcription.logprobs"],
        )
        audio_input = session["audio"]["input"]
        assert audio_input["format"] == {"type": "audio/pcmu"}
        assert audio_input["noise_reduction"] == {"type": "near_field"}
        assert audio_input["transcription"] == {
            "model": "gpt-4o-transcribe",
            "language": "en",
            "prompt": "Acme",
        }
        assert audio_input["turn_detection"] is None
        assert session["include"] == ["item.input_audio_transcription.logprobs"]
        # Fields shown only once set, our text rules among them (as on every transcribing job).
        rules = {
            "keywords": ["Zylofax"],
            "delay": "low",
            "replacements": {"acme pro": "Acme-Pro"},
            "redact": ["card_number", "email"],
        }
        session = update(ws, audio={"input": {"transcription": rules}})
        assert session["audio"]["input"]["transcription"] == {
            "model": "gpt-4o-transcribe",
            "language": "en",
            "prompt": "Acme",
            **rules,
        }
        kind = error_of(
            ws,
            {
                "type": "session.update",
                "session": {
                    "type": "transcription",
                    "audio": {"input": {"transcription": {"redact": ["names"]}}},
                },
            },
        )
        assert kind["code"] == "invalid_value" and kind["param"].startswith(
            "session.audio.input.transcription.redact"
        )


@pytest.mark.parametrize(
    ("event", "code", "param"),
    [
        ("not json", "invalid_json", None),
        ({"type": "response.create"}, "invalid_value", "type"),
        ({"type": "session.update", "session": {"type": "realtime"}}, "invalid_value", "session.type"),
        (
            {"type": "session.update", "session": {"type": "transcription", "audio": {"input": {"x": 1}}}},
            "unknown_parameter",
            "session.audio.input.x",
        ),
        (
            {
                "type": "session.update",
                "session": {"type": "transcription", "audio": {"input": {"format": {"type": "audio/wav"}}}},
            },
            "invalid_value",
            "session.audio.input.format.type",
        ),
        (
            {
                "type": "session.update",
                "session": {
                    "type": "transcription",
                    "audio": {"input": {"turn_detection": {"type": "semantic_vad"}}},
                },
            },
            "invalid_value",
            "session.audio.input.turn_detection.type",
        ),
        (
            {
                "type": "session.update",
                "session": {
                    "type": "transcription",
                    "audio": {"input": {"transcription": {"model": "large-v3"}}},
                },
            },
            "model_not_allowed",
            "session.audio.input.transcription.model",
        ),
        (
            {
                "type": "session.update",
                "session": {
                    "type": "transcription",
                    "audio": {"input": {"transcription": {"language": "de"}}},
                },
            },
            "english_only_model",
            "session.audio.input.transcription.language",
        ),
        (
            {"type": "session.update", "session": {"type": "transcription", "audio": None}},
            "invalid_value",
            "session.audio",
        ),
        (
            {"type": "session.update", "session": {"type": "transcription", "audio": {"input": None}}},
            "invalid_value",
            "session.audio.input",
        ),
        ({"type": "input_audio_buffer.append"}, "missing_required_parameter", "audio"),
        ({"type": "input_audio_buffer.append", "audio": "not base64!"}, "invalid_value", "audio"),
        ({"type": "input_audio_buffer.commit"}, "input_audio_buffer_commit_empty", None),
    ],
)
def test_a_bad_event_is_answered_with_openais_error_and_the_session_goes_on(
    client: TestClient, event: dict[str, Any] | str, code: str, param: str | None
) -> None:
    with client.websocket_connect(URL, headers=BEARER) as ws:
        receive(ws)
        if isinstance(event, dict):
            event = {**event, "event_id": "client-1"}
        error = error_of(ws, event)
        assert (error["type"], error["code"], error["param"]) == ("invalid_request_error", code, param)
        assert error["event_id"] == (None if isinstance(event, str) else "client-1")
        ws.send_json({"type": "input_audio_buffer.clear"})
        assert receive(ws)["type"] == "input_audio_buffer.cleared"


def test_audio_past_the_buffer_limit_is_refused_until_committed(client: TestClient) -> None:
    second = pcm24(np.zeros(16_000, dtype=np.float32))
    with client.websocket_connect(URL, headers=BEARER) as ws:
        receive(ws)
        update(ws, audio={"input": {"turn_detection": None, "transcription": None}})
        ws.send_json({"type": "input_audio_buffer.append", "audio": pieces(second, len(second))[0]})
        error = error_of(ws, {"type": "input_audio_buffer.append", "audio": pieces(second[:4800], 4800)[0]})
        assert error["code"] == "too_large" and "1 s" in error["message"]
        ws.send_json({"type": "input_audio_buffer.commit"})
        assert receive(ws)["type"] == "input_audio_buffer.committed"
        assert receive(ws)["type"] == "conversation.item.added"
        ws.send_json({"type": "input_audio_buffer.append", "audio": pieces(second[:4800], 4800)[0]})
        ws.send_json({"type": "input_audio_buffer.clear"})
        assert receive(ws)["type"] == "input_audio_buffer.cleared"  # the append was taken: no error before


def test_sessions_past_the_limit_are_refused_and_a_closed_one_frees_its_place(client: TestClient) -> None:
    with client.websocket_connect(URL, headers=BEARER) as first:
        receive(first)
        assert client.app.state.runtime.live_sessions.open == 1  # type: ignore[attr-defined]
        with client.websocket_connect(URL, headers=BEARER) as second:
            error = receive(second)["error"]
            assert (error["type"], error["code"]) == ("server_error", "queue_full")
            with pytest.raises(WebSocketDisconnect) as closed:
                second.receive_json()
            assert closed.value.code == 1013
    with client.websocket_connect(URL, headers=BEARER) as again:
        assert receive(again)["type"] == "session.created"
    assert client.app.state.runtime.live_sessions.open == 0  # type: ignore[attr-defined]


def test_only_transcription_sessions_are_served(client: TestClient) -> None:
    with client.websocket_connect("/v1/realtime?intent=conversation", headers=BEARER) as ws:
        error = receive(ws)["error"]
        assert (error["code"], error["param"]) == ("invalid_value", "intent")
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()


def test_a_session_ends_at_its_time_limit(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client.app.state.runtime.settings.realtime, "max_session_seconds", 1)  # type: ignore[attr-defined]
    with client.websocket_connect(URL, headers=BEARER) as ws:
        assert receive(ws)["type"] == "session.created"
        error = receive(ws)["error"]
        assert error["code"] == "session_expired"
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()
