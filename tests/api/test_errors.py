"""The shape of an error follows the route that answers it, wherever that route is mounted: a contract's routes
answer in its shape, every other route (and a path no route serves) in ours."""

from __future__ import annotations

import pytest
from fastapi import APIRouter, Depends, FastAPI, WebSocket
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from app.api.errors import install_error_handlers
from app.api.middleware import BodyLimitMiddleware, RequestIdMiddleware
from app.contracts.openai.errors import OpenAIRoute, OpenAIWebSocketRoute
from app.contracts.whisperx_fastapi.edge import WhisperXRoute
from app.errors import ServiceError

NOT_AUDIO = ServiceError("not_audio", "The file could not be decoded.")
MAX_BYTES = 1000


def refuse_not_audio() -> None:
    raise NOT_AUDIO


def refuse_key() -> None:
    raise ServiceError("unauthorized", "Send a valid API key.")


async def socket(websocket: WebSocket) -> None:
    await websocket.accept()


def build_app() -> FastAPI:
    """OpenAI's and whisperX-FastAPI's routes away from their own paths, and a plain route at OpenAI's."""
    openai = APIRouter(route_class=OpenAIRoute)
    openai.post("/transcribe")(refuse_not_audio)
    whisperx = APIRouter(route_class=WhisperXRoute)
    whisperx.post("/transcribe")(refuse_not_audio)
    sockets = APIRouter(routes=[OpenAIWebSocketRoute("/socket", socket, dependencies=[Depends(refuse_key)])])
    elsewhere = APIRouter(prefix="/elsewhere")
    elsewhere.include_router(openai, prefix="/openai")
    elsewhere.include_router(whisperx, prefix="/whisperx")
    elsewhere.include_router(sockets)
    plain = APIRouter()
    plain.post("/v1/audio/transcriptions")(refuse_not_audio)

    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BYTES)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(elsewhere)
    app.include_router(plain)
    return app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(build_app())


def test_a_contracts_route_answers_in_its_shape_wherever_it_is_mounted(client: TestClient) -> None:
    openai = client.post("/elsewhere/openai/transcribe")
    assert openai.status_code == 400
    assert openai.json() == {
        "error": {
            "message": NOT_AUDIO.message,
            "type": "invalid_request_error",
            "param": "file",
            "code": "not_audio",
        }
    }

    whisperx = client.post("/elsewhere/whisperx/transcribe", headers={"X-Request-ID": "trace-7"})
    assert whisperx.status_code == 400  # whisperX-FastAPI's status for a file that is not audio
    error = whisperx.json()["error"]
    assert (error["service_code"], error["correlation_id"]) == ("not_audio", "trace-7")
    assert whisperx.json()["detail"] == NOT_AUDIO.message


def test_a_plain_route_under_v1_answers_in_ours(client: TestClient) -> None:
    plain = client.post("/v1/audio/transcriptions")
    assert (plain.status_code, plain.json()) == (NOT_AUDIO.http_status, {"error": NOT_AUDIO.to_dict()})
    unknown = client.get("/v1/no/such/route")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    assert "type" not in unknown.json()["error"]


def test_a_method_the_route_does_not_serve_is_refused_in_its_shape(client: TestClient) -> None:
    refused = client.get("/elsewhere/openai/transcribe")
    assert refused.status_code == 405
    assert refused.json()["error"]["type"] == "invalid_request_error"


def test_a_body_refused_before_routing_is_answered_in_its_routes_shape(client: TestClient) -> None:
    body = b"\0" * (MAX_BYTES + 1)
    openai = client.post("/elsewhere/openai/transcribe", content=body)
    assert openai.status_code == 413
    assert (openai.json()["error"]["type"], openai.json()["error"]["param"]) == (
        "invalid_request_error",
        "file",
    )
    whisperx = client.post(
        "/elsewhere/whisperx/transcribe", content=body, headers={"X-Request-ID": "trace-8"}
    )
    assert whisperx.status_code == 413 and whisperx.json()["error"]["correlation_id"] == "trace-8"
    plain = client.post("/v1/audio/transcriptions", content=body)
    assert plain.status_code == 413 and plain.json() == {
        "error": {"code": "too_large", "message": "The request body is larger than the limit of 0 MiB."}
    }


def test_a_websocket_is_refused_in_its_routes_shape(client: TestClient) -> None:
    with pytest.raises(WebSocketDenialResponse) as refused, client.websocket_connect("/elsewhere/socket"):
        pass
    assert refused.value.status_code == 401
    assert refused.value.headers["www-authenticate"] == "Bearer"
    assert refused.value.json()["error"]["code"] == "invalid_api_key"
