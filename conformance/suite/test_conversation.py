"""Stateful: a tool_use -> tool_result conversation continues over several turns."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.intent import Intent

pytestmark = pytest.mark.conformance_areas("stateful", "message", "body", "stream")

TOOL = {"name": "get_weather", "description": "Current weather for a city.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
TURNS = 3


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_tool_conversation_over_several_turns(conformance_client: Any, conformance_profile: Any,
                                              conformance_check: Any, stream: bool) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What is the weather in Paris?"}]
    for turn in range(TURNS):
        body = {"model": conformance_profile.model_ids[0], "max_tokens": 64, "messages": messages,
                "tools": [TOOL], "tool_choice": {"type": "any"}, "stream": stream}
        ex = conformance_client.send("POST", "/v1/messages", json=body,
                                     intent=Intent("tool-turn", detail={"turn": turn}))
        conformance_check.verdict()  # a turn without a tool_use fails the check here (stateful.tool-loop)
        message = ex.accumulated if stream else (ex.response.json if ex.response is not None else None)
        content = message.get("content") if isinstance(message, dict) else None
        uses = [b for b in content or () if isinstance(b, dict) and b.get("type") == "tool_use"]
        if not uses:
            return  # nothing to answer: the rule said why (unless --select left it out)
        messages = [*messages, {"role": "assistant", "content": content},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": u["id"], "content": f"Sunny, {18 + turn} C"}
                        for u in uses]}]
