"""Live transcription through the official client's Realtime connection
(`client.realtime.connect(extra_query={"intent": "transcription"})`) against a running server, on real speech
sent as it is spoken: turns found by the server's VAD, turns committed by the client, the key, and a client that
vanishes."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
import websockets
from openai import AsyncOpenAI
from websockets.sync.client import connect

from tests.corpus import normalise, two_voice_dialogue, wer
from tests.realtime import checked, g711, pcm24
from tests.servers import api_server
from tests.synth import SAMPLE_RATE, TWO_VOICE_DIALOGUE

pytestmark = [pytest.mark.slow, pytest.mark.server]

KEY = "live-key"
CHUNK_SECONDS = 0.1


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with api_server(
        tmp_path_factory.mktemp("realtime"), API_KEYS=json.dumps([KEY]), PRELOAD_MODELS="true"
    ) as url:
        yield url


def client(base: str, key: str = KEY) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0)


async def received(connection: Any, until: str, count: int = 1, timeout: float = 120) -> list[dict[str, Any]]:
    """Events as the official client parses them, each checked against its types, until `count` of `until`."""
    events: list[dict[str, Any]] = []
    async with asyncio.timeout(timeout):
        while sum(event["type"] == until for event in events) < count:
            event = (await connection.recv()).to_dict()
            checked(event)
            events.append({**event, "at": time.monotonic()})
    return events


def turns_of(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    items: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        item = event.get("item_id") or (event.get("item") or {}).get("id")
        if item is not None:
            items.setdefault(item, []).append(event)
    return items


def test_server_vad_finds_each_turn_spoken_in_real_time_and_transcribes_it(base: str) -> None:
    audio, _ = two_voice_dialogue()
    pcm = pcm24(np.concatenate([audio, np.zeros(SAMPLE_RATE, dtype=np.float32)]))
    piece = int(24_000 * CHUNK_SECONDS) * 2

    async def session() -> list[dict[str, Any]]:
        async with client(base).realtime.connect(extra_query={"intent": "transcription"}) as connection:
            await connection.session.update(
                session={
                    "type": "transcription",
                    "audio": {
                        "input": {
                            "format": {"type": "audio/pcm", "rate": 24000},
                            "transcription": {"model": "whisper-1", "language": "en"},
                            "turn_detection": {
                                "type": "server_vad",
                                "threshold": 0.5,
                                "silence_duration_ms": 500,
                            },
                        }
                    },
                }
            )
            opening = await received(connection, "session.updated")

            async def speak() -> None:
                started = time.monotonic()
                for index, start in enumerate(range(0, len(pcm), piece)):
                    await asyncio.sleep(max(0.0, started + index * CHUNK_SECONDS - time.monotonic()))
                    await connection.input_audio_buffer.append(
                        audio=base64.b64encode(pcm[start : start + piece]).decode()
                    )

            speaker = asyncio.create_task(speak())
            events = await received(connection, "conversation.item.done", len(TWO_VOICE_DIALOGUE))
            await speaker
            return opening + events

    events = asyncio.run(session())
    assert [event["type"] for event in events[:2]] == ["session.created", "session.updated"]
    assert events[1]["session"]["audio"]["input"]["turn_detection"]["silence_duration_ms"] == 500
    turns = list(turns_of(events).values())
    assert len(turns) == len(TWO_VOICE_DIALOGUE)
    spoken_deltas = 0
    previous = None
    for (_, said), turn in zip(TWO_VOICE_DIALOGUE, turns, strict=True):
        kinds = [event["type"] for event in turn if not event["type"].endswith(".delta")]
        assert kinds == [
            "input_audio_buffer.speech_started",
            "input_audio_buffer.speech_stopped",
            "input_audio_buffer.committed",
            "conversation.item.added",
            "conversation.item.input_audio_transcription.completed",
            "conversation.item.done",
        ]
        started, stopped, committed, _added, completed, done = (
            e for e in turn if not e["type"].endswith(".delta")
        )
        assert committed["previous_item_id"] == previous
        previous = committed["item_id"]
        assert 0 < started["audio_start_ms"] < stopped["audio_end_ms"]
        assert completed["usage"]["type"] == "duration"
        seconds = (stopped["audio_end_ms"] - started["audio_start_ms"]) / 1000
        assert completed["usage"]["seconds"] == pytest.approx(seconds, abs=0.05)
        assert wer(said, completed["transcript"]) <= (0.7 if "seven" in said else 0.25)  # digits for numbers
        assert done["item"]["content"][0]["transcript"] == completed["transcript"]
        deltas = [e for e in turn if e["type"].endswith(".delta")]
        assert deltas, "each turn's text comes as deltas too"
        spoken_deltas += sum(e["at"] < stopped["at"] for e in deltas)
        assert normalise("".join(e["delta"] for e in deltas))[:6] == normalise(completed["transcript"])[:6]
    assert spoken_deltas >= len(TWO_VOICE_DIALOGUE)  # text while the turns were still being spoken


def test_without_turn_detection_the_client_commits_each_turn(base: str) -> None:
    audio, _ = two_voice_dialogue()
    first, second = audio[: int(5.8 * SAMPLE_RATE)], audio[int(5.8 * SAMPLE_RATE) : int(11.6 * SAMPLE_RATE)]

    async def session() -> list[dict[str, Any]]:
        async with client(base).realtime.connect(extra_query={"intent": "transcription"}) as connection:
            await connection.session.update(
                session={
                    "type": "transcription",
                    "audio": {"input": {"format": {"type": "audio/pcmu"}, "turn_detection": None}},
                    "include": ["item.input_audio_transcription.logprobs"],
                }
            )
            events = await received(connection, "session.updated")
            for turn in (first, second):
                data = g711(turn, "mulaw")
                for start in range(0, len(data), 1600):  # faster than real time
                    await connection.input_audio_buffer.append(
                        audio=base64.b64encode(data[start : start + 1600]).decode()
                    )
                await connection.input_audio_buffer.commit()
            events += await received(connection, "conversation.item.done", 2)
            await connection.input_audio_buffer.commit()  # nothing left to commit
            events += await received(connection, "error")
            return events

    events = asyncio.run(session())
    assert not any(event["type"].startswith("input_audio_buffer.speech") for event in events)
    completed = [e for e in events if e["type"] == "conversation.item.input_audio_transcription.completed"]
    committed = [e for e in events if e["type"] == "input_audio_buffer.committed"]
    assert [e["item_id"] for e in completed] == [e["item_id"] for e in committed]
    assert committed[1]["previous_item_id"] == committed[0]["item_id"]
    for (_, said), turn in zip(TWO_VOICE_DIALOGUE, completed, strict=False):
        assert wer(said, turn["transcript"]) <= 0.25
        assert turn["usage"]["seconds"] == pytest.approx(5.8, abs=0.05)
        tokens = turn["logprobs"]
        assert tokens and all(item["logprob"] <= 0 for item in tokens)
        assert b"".join(bytes(item["bytes"]) for item in tokens).decode().strip() == turn["transcript"]
    assert events[-1]["error"]["code"] == "input_audio_buffer_commit_empty"


def test_a_key_is_needed_by_header_or_by_the_browsers_subprotocol(base: str) -> None:
    async def wrong_key() -> None:
        async with client(base, "wrong").realtime.connect(
            extra_query={"intent": "transcription"}
        ) as connection:
            await connection.recv()

    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        asyncio.run(wrong_key())
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body)["error"]["code"] == "invalid_api_key"
    url = base.replace("http", "ws") + "/v1/realtime?intent=transcription"
    with connect(url, subprotocols=["realtime", f"openai-insecure-api-key.{KEY}"]) as ws:  # type: ignore[list-item]
        assert ws.subprotocol == "realtime"
        assert json.loads(ws.recv())["type"] == "session.created"


def live_sessions(base: str) -> float:
    metrics = httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {KEY}"}, timeout=10).text
    (line,) = [line for line in metrics.splitlines() if line.startswith("whisperx_live_sessions ")]
    return float(line.split()[1])


def test_a_client_that_vanishes_frees_its_session(base: str) -> None:
    url = base.replace("http", "ws") + "/v1/realtime?intent=transcription"
    ws = connect(url, additional_headers={"Authorization": f"Bearer {KEY}"})
    assert json.loads(ws.recv())["type"] == "session.created"
    speech = pcm24(two_voice_dialogue()[0][: 3 * SAMPLE_RATE])
    ws.send(json.dumps({"type": "input_audio_buffer.append", "audio": base64.b64encode(speech).decode()}))
    assert live_sessions(base) == 1
    ws.socket.close()  # gone mid-turn, without a closing handshake
    deadline = time.monotonic() + 30
    while live_sessions(base) != 0:
        assert time.monotonic() < deadline, "the session was not freed"
        time.sleep(0.2)
