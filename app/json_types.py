"""JSON as it crosses a door: what a RunPod job carries in and out, what a webhook or a stream item holds.

Reading a key of a `JSONObject` gives a `JSONValue`, which must be narrowed (or validated by a model) before use.
"""

from __future__ import annotations

from typing import TypeAlias

JSONValue: TypeAlias = "None | bool | int | float | str | list[JSONValue] | dict[str, JSONValue]"
JSONObject: TypeAlias = "dict[str, JSONValue]"
