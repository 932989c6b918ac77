"""Stateful: a tool_use -> tool_result conversation continues over several turns."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.findings import error

pytestmark = pytest.mark.conformance_areas("stateful", "message", "body", "stream")

TOOL = {"name": "get_weather", "description": "Current weather for a city.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
TURNS = 3


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_tool_conversation_over_several_turns(client: Any, profile: Any, conformance: Any, stream: bool) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What is the weather in Paris?"}]
    for turn in range(TURNS):
        body = {"model": profile.model_ids[0], "max_tokens": 64, "messages": messages, "tools": [TOOL],
                "tool_choice": {"type": "any"}, "stream": stream}
        ex = client.send("POST", "/v1/messages", json=body)
        message = ex.accumulated if stream else (ex.response.json if ex.response is not None else None)
        status = ex.response.status if ex.response is not None else None
        uses = [b for b in (message or {}).get("content", []) if isinstance(b, dict) and b.get("type") == "tool_use"]
        probe = []
        if status != 200 or not uses:
            probe.append(error("stateful.tool-loop", f"turn {turn}: expected a tool_use (tool_choice any), "
                                                     f"got status {status} with {len(uses)} tool_use blocks",
                               part="message", path="$.content"))
        conformance.require(ex, profile, extra=probe)
        assert isinstance(message, dict)  # a failed turn failed the check above
        messages = [*messages, {"role": "assistant", "content": message["content"]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": u["id"], "content": f"Sunny, {18 + turn} C"}
                        for u in uses]}]
