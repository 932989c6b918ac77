"""What the official Python SDK's examples do (create, stream, tools, count_tokens), as one script.

Configured the way the examples are, from the environment only (``ANTHROPIC_BASE_URL``, ``ANTHROPIC_API_KEY``):
``tests/test_proxy_cli.py`` runs it in its own process against ``conformance proxy``.
"""

from __future__ import annotations

import anthropic

MODEL = "claude-sonnet-4-20250514"
WEATHER = {"name": "get_weather", "description": "Get the weather for a specific location",
           "input_schema": {"type": "object", "properties": {"location": {"type": "string"}},
                            "required": ["location"]}}


def main() -> None:
    client = anthropic.Anthropic()
    message = client.messages.create(model=MODEL, max_tokens=1024,
                                     messages=[{"role": "user", "content": "Hello, Claude"}])
    print("create:", message.content[0].type, message.stop_reason)

    with client.messages.stream(model=MODEL, max_tokens=1024,
                                messages=[{"role": "user", "content": "Say hello there!"}]) as stream:
        text = "".join(stream.text_stream)
    print("stream:", len(text), "characters")

    question = {"role": "user", "content": "What is the weather in SF?"}
    asked = client.messages.create(model=MODEL, max_tokens=1024, messages=[question], tools=[WEATHER],
                                   tool_choice={"type": "any"})
    tool = next(c for c in asked.content if c.type == "tool_use")
    answered = client.messages.create(model=MODEL, max_tokens=1024, tools=[WEATHER], messages=[
        question, {"role": asked.role, "content": asked.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id,
                                      "content": [{"type": "text", "text": "The weather is 73f"}]}]}])
    print("tools:", asked.stop_reason, answered.stop_reason)

    counted = client.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "Hello world!"}])
    print("count_tokens:", counted.input_tokens)


if __name__ == "__main__":
    main()
