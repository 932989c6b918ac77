"""Deterministic token counting (no real tokenizer: a word/punctuation split).

The same function counts ``/v1/messages/count_tokens`` and ``usage.input_tokens``
of ``/v1/messages``, so the two always agree for the same input, as the real API's do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

_TOKEN = re.compile(r"\w+|[^\w\s]")

#: Fixed costs, loosely modelled on the real API's framing overhead.
MESSAGE_OVERHEAD = 3
SYSTEM_OVERHEAD = 2
TOOL_OVERHEAD = 8
IMAGE_TOKENS = 85
DOCUMENT_TOKENS = 150


def count_text(text: str) -> int:
    """Tokens in a piece of text: one per word and per punctuation mark."""
    return len(_TOKEN.findall(text))


def _json_tokens(value: Any) -> int:
    try:
        return count_text(orjson.dumps(value).decode())
    except TypeError:
        return 0


def _block_tokens(block: Any) -> int:
    if isinstance(block, str):
        return count_text(block)
    if not isinstance(block, Mapping):
        return 0
    kind = block.get("type")
    if kind == "text":
        return count_text(str(block.get("text", "")))
    if kind == "image":
        return IMAGE_TOKENS
    if kind == "document":
        source = block.get("source")
        if isinstance(source, Mapping) and source.get("type") == "text":
            return count_text(str(source.get("data", "")))
        return DOCUMENT_TOKENS
    if kind in ("tool_use", "server_tool_use"):
        return count_text(str(block.get("name", ""))) + _json_tokens(block.get("input", {}))
    if kind == "tool_result":
        content = block.get("content", "")
        if isinstance(content, list):
            return 2 + sum(_block_tokens(b) for b in content)
        return 2 + count_text(str(content))
    if kind == "thinking":
        return count_text(str(block.get("thinking", "")))
    # redacted_thinking and anything newer: a flat cost keeps counting total.
    return 4


def _content_tokens(content: Any) -> int:
    if isinstance(content, list):
        return sum(_block_tokens(b) for b in content)
    return _block_tokens(content)


def count_input_tokens(body: Mapping[str, Any]) -> int:
    """Input tokens of a (valid) messages or count_tokens request body."""
    total = 0
    system = body.get("system")
    if system:
        total += SYSTEM_OVERHEAD + _content_tokens(system)
    for message in body.get("messages") or ():
        if isinstance(message, Mapping):
            total += MESSAGE_OVERHEAD + _content_tokens(message.get("content", ""))
    for tool in body.get("tools") or ():
        if isinstance(tool, Mapping):
            total += TOOL_OVERHEAD + count_text(str(tool.get("name", ""))) + count_text(
                str(tool.get("description", ""))) + _json_tokens(tool.get("input_schema", {}))
    return max(total, 1)
