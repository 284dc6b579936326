"""Serve the REST app: `python -m app`, on `HOST`:`PORT`, with `/ping` also on `PORT_HEALTH` when that differs.

RunPod load-balancing endpoints route requests to `PORT` and probe `GET /ping` on `PORT_HEALTH`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from app.config import get_settings


class PingServer(uvicorn.Server):
    """The health port's server: signals are left to the app's server, which stops this one."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve() -> None:
    from app.main import app, create_ping_app

    settings = get_settings()
    log_level = settings.log_level.lower()
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_level=log_level))
    if settings.port_health in (None, settings.port):
        await server.serve()
        return
    config = uvicorn.Config(
        create_ping_app(app),
        host=settings.host,
        port=settings.port_health,
        lifespan="off",
        log_level=log_level,
    )
    ping_server = PingServer(config)
    pinging = asyncio.create_task(ping_server.serve())
    try:
        await server.serve()
    finally:
        ping_server.should_exit = True
        await pinging


if __name__ == "__main__":
    asyncio.run(serve())
