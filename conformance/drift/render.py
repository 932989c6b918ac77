"""Views of a :class:`~conformance.drift.DriftRun`: text for people, JSON for tools."""

from __future__ import annotations

import dataclasses
from typing import Any

from conformance.drift import DriftRun


def render_text(run: DriftRun, *, show_explained: bool = False) -> str:
    sdk = run.sdk
    sends = f", sends anthropic-version {sdk.sends_version}" if sdk.sends_version else ""
    lines = [f"conformance drift: {sdk.sdk} SDK {sdk.version}{sends}"]
    for p in run.profiles:
        explained = [r for r in p.results if r.allowed is not None]
        lines += ["", f"profile {p.profile}: {len(p.unexplained)} unexplained, {len(explained)} explained "
                      f"by {run.allow.file}"]
        shown = p.results if show_explained else [r for r in p.results if r.allowed is None]
        shape = None
        for r in shown:
            d = r.difference
            if d.shape != shape:
                shape = d.shape
                lines.append(f"  {shape}:")
            lines.append(f"    {d.kind:<20} {d.path}  [{d.blame}'s drift] {d.detail}")
            if r.allowed is not None:
                lines.append(f"      explained: {r.allowed.reason}")
        for note in p.notes:
            lines.append(f"  note: {note}")
    unused = run.unused_allow
    if unused:
        lines += ["", f"{len(unused)} entr{'y' if len(unused) == 1 else 'ies'} of {run.allow.file} matched nothing "
                      "here (another SDK or version may need them):"]
        lines += [f"  allow[{e.index}] {e.sdk} {e.shape} {e.path}" for e in unused]
    lines += ["", f"{run.unexplained} unexplained difference(s)" + (
        "" if run.unexplained else ": the profiles and the SDK agree, or every difference is explained")]
    if run.unexplained and not show_explained:
        lines.append("explain each in the allow list with a reason, or bring the profile (or report the SDK) "
                     "up to date")
    return "\n".join(lines) + "\n"


def to_json(run: DriftRun) -> dict[str, Any]:
    sdk = run.sdk
    return {
        "sdk": {"name": sdk.sdk, "version": sdk.version, "sends_anthropic_version": sdk.sends_version,
                "sources": sdk.sources, "not_compared": sdk.missing},
        "allow_file": run.allow.file,
        "profiles": {
            p.profile: {
                "differences": [{**dataclasses.asdict(r.difference),
                                 "explained": r.allowed.reason if r.allowed else None,
                                 "allow_entry": r.allowed.index if r.allowed else None} for r in p.results],
                "notes": p.notes,
                "unexplained": len(p.unexplained),
            } for p in run.profiles
        },
        "unused_allow_entries": [e.index for e in run.unused_allow],
        "unexplained": run.unexplained,
    }
