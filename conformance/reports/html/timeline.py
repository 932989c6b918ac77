"""A stream on a timeline: the geometry of the SVG that ``report.html`` draws for each streamed exchange.

Event number runs across; one lane for message-level events (``message_start``, ``message_delta``,
``message_stop``, ``ping``, ``error`` and types no profile knows) and one per content block, with a bar
from the block's start to its stop, so overlapping blocks are seen at once. Each event is a mark whose
shape says its kind (colour is never the only signal) and whose title summarises it; usage counts are
written above the message lane where they change; an event a finding points at is outlined and
labelled with the rule. Pure data: the template only draws it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

LEFT = 112
"""Room for the lane labels."""
STEP = 14
"""Pixels per event; long streams scroll sideways rather than squeezing marks together."""
TOP = 34
"""Room for the usage notes above the message lane."""
LANE = 26
BOTTOM_ROW = 16
RIGHT = 40

_MESSAGE_KINDS = {"message_start": "start", "message_delta": "mdelta", "message_stop": "stop", "ping": "ping",
                  "error": "error"}
_BLOCK_KINDS = {"content_block_start": "bstart", "content_block_delta": "delta", "content_block_stop": "bstop"}


# Whole pixels throughout: a long stream has hundreds of marks, and "147.0" costs two bytes more than "147".


@dataclasses.dataclass(frozen=True, slots=True)
class Lane:
    y: int
    label: str


@dataclasses.dataclass(frozen=True, slots=True)
class Span:
    """A content block's life on its lane: from its start to its stop (``open``: it never stopped)."""

    y: int
    x1: int
    x2: int
    open: bool


@dataclasses.dataclass(frozen=True, slots=True)
class Mark:
    index: int
    x: int
    y: int
    kind: str
    """``start``, ``mdelta``, ``stop``, ``ping``, ``error``, ``other`` (message lane); ``bstart``, ``delta``,
    ``bstop`` (block lanes); ``missing`` for a finding about an event that never came."""
    title: str
    rules: tuple[str, ...] = ()
    """The rules that point at this event (it is outlined when any do)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Group:
    """Marks drawn under one title: a run of consecutive deltas of one block, summarised (``title``), or
    a single mark with its own title (``title`` is ``None``)."""

    title: str | None
    marks: tuple[Mark, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Note:
    x: int
    y: int
    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class Timeline:
    width: int
    height: int
    lanes: tuple[Lane, ...]
    spans: tuple[Span, ...]
    marks: tuple[Mark, ...]
    groups: tuple[Group, ...]
    """The marks as drawn: long runs of deltas share one summary, so a long stream stays small to draw."""
    usage: tuple[Note, ...]
    labels: tuple[Note, ...]
    """The rule ids written under the lanes, one per violating event."""
    ticks: tuple[Note, ...]
    description: str
    """What the picture shows, in words (the SVG's accessible name)."""

    @property
    def violations(self) -> tuple[Mark, ...]:
        return tuple(m for m in self.marks if m.rules)


def _short(value: Any, limit: int = 48) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", "⏎")
    return json.dumps(text[:limit] + ("…" if len(text) > limit else ""), ensure_ascii=False)


def summarise_delta(delta: Any) -> str:
    """``text_delta "Hello"``: a delta in a few words."""
    if not isinstance(delta, Mapping):
        return "delta?"
    kind = str(delta.get("type", "delta?"))
    for field in ("text", "thinking", "partial_json"):
        if isinstance(delta.get(field), str):
            return f"{kind} {_short(delta[field])}"
    if isinstance(delta.get("signature"), str):
        return f"{kind} ({len(delta['signature'])} chars)"
    if isinstance(delta.get("citation"), Mapping):
        return f"{kind} ({delta['citation'].get('type', 'citation')})"
    return kind


MIN_RUN = 3
"""Consecutive deltas of one block from this many on are summarised together."""


def _piece(payload: Any) -> tuple[str, str]:
    """(delta type, the text it adds) of a content_block_delta payload."""
    delta = payload.get("delta") if isinstance(payload, Mapping) else None
    if not isinstance(delta, Mapping):
        return "delta?", ""
    text = next((delta[f] for f in ("text", "thinking", "partial_json") if isinstance(delta.get(f), str)), "")
    return str(delta.get("type", "delta?")), text


def _groups(marks: Sequence[Mark], pieces: Mapping[int, tuple[str, str]]) -> tuple[Group, ...]:
    out: list[Group] = []
    run: list[Mark] = []

    def flush() -> None:
        if len(run) >= MIN_RUN:
            kinds = dict.fromkeys(pieces[m.index][0] for m in run)
            text = "".join(pieces[m.index][1] for m in run)
            out.append(Group(f"#{run[0].index}–#{run[-1].index}: {len(run)} × {', '.join(kinds)}, "
                             f"{len(text)} chars: {_short(text, 80)}", tuple(run)))
        else:
            out.extend(Group(None, (m,)) for m in run)
        run.clear()

    for m in marks:
        if m.kind == "delta" and not m.rules and m.index in pieces and (not run or run[-1].y == m.y):
            run.append(m)
            continue
        flush()
        if m.kind == "delta" and not m.rules and m.index in pieces:
            run.append(m)
        else:
            out.append(Group(None, (m,)))
    flush()
    return tuple(out)


def _usage(payload: Mapping[str, Any]) -> str | None:
    usage = payload.get("usage")
    if not isinstance(usage, Mapping):
        message = payload.get("message")
        usage = message.get("usage") if isinstance(message, Mapping) else None
    if not isinstance(usage, Mapping):
        return None
    parts = [f"{name.replace('_tokens', '')} {usage[name]}" for name in ("input_tokens", "output_tokens")
             if isinstance(usage.get(name), int)]
    return " · ".join(parts) or None


def _describe(event: Mapping[str, Any]) -> tuple[str, Any, str]:
    """(event type, block index or None, title) of one logged event."""
    payload = event.get("payload")
    n = event.get("index")
    if not isinstance(payload, Mapping):
        kind = event.get("type") or event.get("name") or "?"
        why = event.get("error") or "data cut to keep the report small"
        return str(kind), None, f"#{n} {kind}: {why}"
    kind = str(payload.get("type", event.get("name") or "?"))
    block = payload.get("index") if kind in _BLOCK_KINDS else None
    title = f"#{n} {kind}"
    if block is not None:
        title += f" [block {block}]"
    if kind == "content_block_start" and isinstance(payload.get("content_block"), Mapping):
        title += f" {payload['content_block'].get('type', '?')}"
    elif kind == "content_block_delta":
        title += f" {summarise_delta(payload.get('delta'))}"
    elif kind == "message_delta" and isinstance(payload.get("delta"), Mapping):
        title += f" stop_reason={payload['delta'].get('stop_reason')}"
    elif kind == "error" and isinstance(payload.get("error"), Mapping):
        title += f" {payload['error'].get('type')}: {_short(payload['error'].get('message', ''))}"
    usage = _usage(payload)
    if usage:
        title += f" (usage: {usage})"
    return kind, block, title


def build_timeline(events: Sequence[Mapping[str, Any]], findings: Sequence[Mapping[str, Any]],
                   total_events: int | None = None) -> Timeline:
    """The timeline of one stream from its logged events and the findings about that exchange."""
    described = [(e, *_describe(e)) for e in events]
    blocks: list[Any] = []
    block_types: dict[Any, str] = {}
    for _, kind, block, _title in described:
        if kind in _BLOCK_KINDS and block not in blocks:
            blocks.append(block)
    for e, kind, block, _title in described:
        payload = e.get("payload")
        if kind == "content_block_start" and isinstance(payload, Mapping) and isinstance(
                payload.get("content_block"), Mapping):
            block_types.setdefault(block, str(payload["content_block"].get("type", "?")))
    blocks.sort(key=lambda b: (not isinstance(b, int), b if isinstance(b, int) else 0, str(b)))
    lane_y = {b: TOP + LANE * (n + 1) + LANE // 2 for n, b in enumerate(blocks)}
    message_y = TOP + LANE // 2
    lanes = [Lane(message_y, "message")] + [
        Lane(lane_y[b], f"block {b}" + (f" · {block_types[b]}" if b in block_types else "")) for b in blocks]

    def x_of(position: int) -> int:
        return LEFT + position * STEP + STEP // 2

    # Findings point at events by their index in the stream; the log may have kept only the first ones.
    by_event: dict[int, list[str]] = {}
    missing: list[str] = []
    kept = {e.get("index") for e in events}
    for f in findings:
        if f.get("part") != "stream":
            continue
        event = f.get("event")
        if isinstance(event, int) and event in kept:
            by_event.setdefault(event, []).append(str(f["rule"]))
        else:
            missing.append(str(f["rule"]))

    marks: list[Mark] = []
    pieces: dict[int, tuple[str, str]] = {}
    usage: list[Note] = []
    starts: dict[Any, int] = {}
    spans: list[Span] = []
    for position, (e, kind, block, title) in enumerate(described):
        x = x_of(position)
        logged = e.get("index")
        index = logged if isinstance(logged, int) else position
        if kind in _BLOCK_KINDS:
            y = lane_y[block]
            mark_kind = _BLOCK_KINDS[kind]
            if kind == "content_block_start":
                starts[block] = x
            elif kind == "content_block_delta":
                pieces[index] = _piece(e.get("payload"))
            elif kind == "content_block_stop" and block in starts:
                spans.append(Span(y, starts.pop(block), x, open=False))
        else:
            y = message_y
            mark_kind = _MESSAGE_KINDS.get(kind, "other")
            payload = e.get("payload")
            note = _usage(payload) if isinstance(payload, Mapping) else None
            if note:
                usage.append(Note(x, 12 + 12 * (len(usage) % 2), note))
        marks.append(Mark(index, x, y, mark_kind, title, tuple(dict.fromkeys(by_event.get(index, ())))))
    end = x_of(len(described))
    for block, x in starts.items():
        spans.append(Span(lane_y[block], x, end - STEP // 2, open=True))
    if missing:
        total = total_events if total_events is not None else len(events)
        what = "after the last event" if total == len(events) else f"at an event beyond the {len(events)} kept"
        marks.append(Mark(total, end, message_y, "missing", f"{', '.join(dict.fromkeys(missing))}: {what}",
                          tuple(dict.fromkeys(missing))))

    bottom = TOP + LANE * (len(blocks) + 1) + 6
    labels: list[Note] = []
    rows_end: list[int] = []
    for m in marks:
        if not m.rules:
            continue
        text = ", ".join(m.rules)
        width = 7 * len(text)
        row = next((r for r, right in enumerate(rows_end) if right < m.x - 4), len(rows_end))
        if row == len(rows_end):
            rows_end.append(0)
        rows_end[row] = m.x + width
        labels.append(Note(m.x, bottom + BOTTOM_ROW * (row + 1), text))
    ticks_y = bottom + BOTTOM_ROW * (len(rows_end) + 1) + 4
    every = 5 if len(described) <= 80 else 10 if len(described) <= 200 else 25
    ticks = tuple(Note(x_of(p), ticks_y, str(p)) for p in range(0, len(described), every))
    violations = [m for m in marks if m.rules]
    description = (f"Stream timeline: {len(events)} events, {len(blocks)} content block(s)"
                   + "".join(f"; event {m.index}: {', '.join(m.rules)}" for m in violations))
    return Timeline(width=end + RIGHT + max((7 * len(n.text) for n in labels), default=0),
                    height=ticks_y + 8, lanes=tuple(lanes), spans=tuple(spans), marks=tuple(marks),
                    groups=_groups(marks, pieces),
                    usage=tuple(usage), labels=tuple(labels), ticks=ticks, description=description)
