"""URLs that point into private networks, in every spelling, directly or through redirects, are refused with
`url_not_allowed` before any connection is made: through `fetch_url`, the worker and the REST app, and for
webhooks too. Every outgoing `connect` is recorded, and listening canaries count what reaches them."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from app.audio.fetch import fetch_url
from app.config import FetchSettings, get_settings
from app.errors import ServiceError
from app.main import create_app
from app.runtime import stop_runtime
from handler import handler
from tests.reliability.helpers import Recorder, recording_server, scratch_files, wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(120)]

FAKE_PRIVATE_NAME = "intranet.corp.example"
FAKE_MIXED_NAME = "mixed.corp.example"
REDIRECTOR = "127.0.0.3"  # the one private address the front doors may reach: a server that redirects

TARGETS = [
    "http://127.0.0.1/",
    "http://127.0.0.2:8080/x.wav",
    "http://127.1/",
    "http://0.0.0.0/",
    "http://0/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0x7f.1/",
    "http://0177.0.0.1/",
    "http://017700000001/",
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://[::1]/",
    "http://[::]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::127.0.0.1]/",  # IPv4-compatible
    "http://[64:ff9b::a00:5]/",  # NAT64 of 10.0.0.5
    "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
    "http://localhost/",
    "http://LOCALHOST:8000/",
    f"http://{FAKE_PRIVATE_NAME}/a.wav",
    f"http://{FAKE_MIXED_NAME}/a.wav",
    "https://127.0.0.1/",
    "HTTP://127.0.0.1/",
]
NOT_HTTP = [
    "file:///etc/passwd",
    "ftp://127.0.0.1/a.wav",
    "gopher://127.0.0.1:70/",
    "dict://127.0.0.1:11211/",
    "http://user:pass@93.184.216.34/",
    "http:///a.wav",
]


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Every socket connect of this process is recorded; only the redirecting server may really be reached, and
    fake names resolve to the addresses a hostile DNS would give."""
    made: list[Any] = []
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        made.append(address)
        if address[0] != REDIRECTOR:
            raise ConnectionRefusedError(f"test: no connection to {address!r} may be made")
        real_connect(self, address)

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        fake = {FAKE_PRIVATE_NAME: ["10.0.0.5"], FAKE_MIXED_NAME: ["93.184.216.34", "10.0.0.5"]}
        if host in fake:
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 80)) for address in fake[host]
            ]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield made


@pytest.fixture(scope="module")
def redirecting_server() -> Iterator[Recorder]:
    with recording_server(REDIRECTOR) as server:
        yield server


@pytest.fixture
def redirector(redirecting_server: Recorder) -> Recorder:
    redirecting_server.hits.clear()
    return redirecting_server


def via(server: Recorder, target: str) -> str:
    return f"{server.base}/redirect?to={quote(target, safe='')}"


def fetch(url: str, tmp_path: Path, allow: list[str] | None = None) -> ServiceError:
    settings = FetchSettings(allow_private_hosts=allow or [], timeout_s=10)
    with pytest.raises(ServiceError) as caught:
        fetch_url(url, tmp_path / "out", settings=settings, max_bytes=2**20)
    assert not (tmp_path / "out").exists()
    return caught.value


@pytest.mark.parametrize("url", TARGETS + NOT_HTTP)
def test_fetch_url_refuses_before_connecting(url: str, tmp_path: Path, connects: list[Any]) -> None:
    assert fetch(url, tmp_path).code == "url_not_allowed"
    assert connects == []


@pytest.mark.parametrize("target", TARGETS)
def test_fetch_url_refuses_redirects_before_connecting(
    target: str, tmp_path: Path, connects: list[Any], redirector: Recorder
) -> None:
    assert fetch(via(redirector, target), tmp_path, allow=[REDIRECTOR]).code == "url_not_allowed"
    assert {address[0] for address in connects} == {REDIRECTOR}, connects
    assert len(redirector.gets()) == 1


def test_a_redirect_chain_is_checked_at_every_hop(
    tmp_path: Path, connects: list[Any], redirector: Recorder
) -> None:
    chain = via(redirector, via(redirector, via(redirector, "http://[::ffff:127.0.0.1]/")))
    assert fetch(chain, tmp_path, allow=[REDIRECTOR]).code == "url_not_allowed"
    assert {address[0] for address in connects} == {REDIRECTOR}
    assert len(redirector.gets()) == 3


def test_the_checked_address_is_the_one_connected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: a name that answers public first and private later still only reaches the checked
    (public) address."""
    answers = iter([["93.184.216.34"], ["10.0.0.5"], ["10.0.0.5"], ["10.0.0.5"]])
    made: list[Any] = []

    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "rebind.example":  # address literals resolve to themselves
            return real_getaddrinfo(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in next(answers)]

    def connect(self: socket.socket, address: Any) -> None:
        made.append(address)
        raise ConnectionRefusedError("test: no real connection")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    assert fetch("http://rebind.example/a.wav", tmp_path).code == "download_failed"
    assert [address[0] for address in made] == ["93.184.216.34"]


@pytest.fixture
def canaries() -> Iterator[dict[str, socket.socket]]:
    """Listening sockets on private addresses: if anything connects, their accept queue shows it."""
    listeners: dict[str, socket.socket] = {}
    ipv4 = socket.socket(socket.AF_INET)
    ipv4.bind(("127.0.0.2", 0))
    listeners["127.0.0.2"] = ipv4
    port = ipv4.getsockname()[1]
    try:
        ipv6 = socket.socket(socket.AF_INET6)
        ipv6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # also takes ::ffff:127.x
        ipv6.bind(("::1", port))
        listeners["::1"] = ipv6
    except OSError:
        pass
    for listener in listeners.values():
        listener.listen(16)
        listener.setblocking(False)
    yield listeners
    for listener in listeners.values():
        listener.close()


def accepted(listeners: dict[str, socket.socket]) -> int:
    count = 0
    for listener in listeners.values():
        try:
            while True:
                listener.accept()[0].close()
                count += 1
        except BlockingIOError:
            pass
    return count


def test_canaries_on_private_addresses_are_never_reached(
    canaries: dict[str, socket.socket], tmp_path: Path, redirector: Recorder
) -> None:
    port = canaries["127.0.0.2"].getsockname()[1]
    targets = [f"http://127.0.0.2:{port}/a.wav", f"http://0x7f000002:{port}/", f"http://2130706434:{port}/"]
    if "::1" in canaries:
        targets += [f"http://[::1]:{port}/a.wav", f"http://localhost:{port}/"]
    for target in targets:
        assert fetch(target, tmp_path).code == "url_not_allowed"
        assert fetch(via(redirector, target), tmp_path, allow=[REDIRECTOR]).code == "url_not_allowed"
    assert accepted(canaries) == 0
    # The canaries do work: a plain connection is seen.
    with socket.create_connection(("127.0.0.2", port), timeout=5):
        pass
    assert accepted(canaries) == 1


# --- through both front doors ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    data_dir = tmp_path_factory.mktemp("outbound")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DATA_DIR", str(data_dir))
        env.delenv("DATABASE_URL", raising=False)
        env.setenv("PRELOAD_MODELS", "false")
        env.setenv("FETCH__ALLOW_PRIVATE_HOSTS", json.dumps([REDIRECTOR]))
        env.setenv("FETCH__TIMEOUT_S", "10")
        env.setenv("WEBHOOK__ATTEMPTS", "1")
        stop_runtime()
        get_settings.cache_clear()
        with TestClient(create_app()) as test_client:
            yield test_client, data_dir
        stop_runtime()
        get_settings.cache_clear()


def front_door_urls(server: Recorder) -> list[str]:
    return TARGETS + [via(server, target) for target in TARGETS[::3]]


def test_the_worker_refuses_private_urls(
    client: tuple[TestClient, Path], connects: list[Any], redirector: Recorder
) -> None:
    for url in front_door_urls(redirector):
        for job in ({"action": "speech_to_text_url", "url": url}, {"action": "transcribe", "file": url}):
            response = handler({"input": job})
            assert set(response) == {"error"}, (url, response)
            assert json.loads(response["error"])["code"] == "url_not_allowed", (url, response)
    assert {address[0] for address in connects} <= {REDIRECTOR}, connects
    assert scratch_files(client[1]) == []


def test_the_rest_app_refuses_private_urls(
    client: tuple[TestClient, Path], connects: list[Any], redirector: Recorder
) -> None:
    test_client, data_dir = client
    for url in front_door_urls(redirector):
        response = test_client.post("/speech-to-text-url", data={"url": url}, params={"wait": "true"})
        assert response.status_code == 400, (url, response.text)
        assert response.json()["error"]["code"] == "url_not_allowed", (url, response.text)
    assert {address[0] for address in connects} <= {REDIRECTOR}, connects
    assert test_client.get("/task/all", params={"status": "processing"}).json()["total"] == 0
    assert scratch_files(data_dir) == []


def test_webhooks_to_private_addresses_are_never_sent(
    client: tuple[TestClient, Path], canaries: dict[str, socket.socket], connects: list[Any]
) -> None:
    test_client, _ = client
    port = canaries["127.0.0.2"].getsockname()[1]
    combine = {
        "aligned_transcript": {"segments": [{"start": 0.0, "end": 1.0, "text": "hi", "words": []}]},
        "diarization_result": [{"start": 0.0, "end": 1.0, "speaker": "SPEAKER_00"}],
    }
    for hook in (f"http://127.0.0.2:{port}/hook", f"http://[::1]:{port}/hook", "http://169.254.169.254/hook"):
        answer = handler({"input": {"action": "combine", "webhook_url": hook, **combine}})
        assert "error" not in answer, answer  # the job itself succeeds; only the delivery is refused
        rest = test_client.post(
            "/service/combine", json={**combine, "webhook_url": hook}, params={"wait": "true"}
        )
        assert rest.status_code == 200, rest.text
        identifier = rest.json()["identifier"]

        def refused(identifier: str = identifier) -> bool:
            webhook = test_client.get(f"/task/{identifier}").json()["webhook"]
            return bool(webhook) and webhook["status"] == "failed" and webhook["attempts"] == 1

        wait_until(refused, timeout=10, what="the outbox to refuse the webhook")
    assert connects == []
    assert accepted(canaries) == 0
