"""Request bodies that may come as JSON or as a form: one way to tell them apart and to read the JSON."""

from __future__ import annotations

import json

from fastapi import Request

from app.errors import invalid_input
from app.json_types import JSONObject


def is_form(request: Request) -> bool:
    """Whether the body is a form (multipart or URL-encoded) rather than JSON."""
    return request.headers.get("content-type", "").startswith(("multipart/form-data", "application/x-www"))


async def json_object(request: Request) -> JSONObject:
    """The body as a JSON object; anything else is `invalid_input` on `body`."""
    try:
        body = json.loads(await request.body())
    except (ValueError, RecursionError):
        raise invalid_input([{"loc": ("body",), "msg": "the body is not JSON"}]) from None
    if not isinstance(body, dict):
        raise invalid_input([{"loc": ("body",), "msg": "the body must be a JSON object"}])
    return body
