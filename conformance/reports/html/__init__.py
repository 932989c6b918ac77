"""``report.html``: one self-contained page a person reads to decide whether a target conforms, and where not.

Built with Jinja2 from what the run or lint left in the report directory (``findings.json`` and the
exchange log ``exchanges.jsonl``), so ``conformance report DIR`` rebuilds exactly what the run wrote.
:mod:`.model` computes what the page shows, :mod:`.timeline` the stream pictures; the templates under
``templates/`` only lay it out. CSS and JavaScript are inlined: the file opens from disk with no network.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from conformance import __version__
from conformance.errors import InputError

REPORT_FILE = "report.html"
_TEMPLATES = Path(__file__).parent / "templates"

__all__ = ["REPORT_FILE", "load_report_dir", "render_diff", "render_report", "write_html_report"]


def _text(value: object) -> Markup:
    """Escape for element content only: ``<`` and ``&`` (and ``>``), not quotes.

    Bodies are mostly JSON, whose every quote would otherwise become ``&#34;`` (five bytes for one);
    between tags a quote is harmless. Never used inside an attribute value.
    """
    return Markup(str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


_SCRIPT_END = re.compile(r"</script", re.IGNORECASE)


def _lazy(element_id: str, html: str) -> Markup:
    """Rendered HTML kept as the text of an inert ``<script type="text/html">``, put into the page when opened.

    A browser only scans a script's text for its end tag, so 1,500 exchanges cost little to load; each
    one is parsed when a reader opens it. Everything in ``html`` was escaped when rendered, so it holds no
    ``</script`` of its own; if it ever did, it is shown in place instead (slower, still correct).
    """
    if _SCRIPT_END.search(html):
        return Markup(f'<div id="{element_id}" class="inline">{html}</div>')
    return Markup(f'<script type="text/html" id="{element_id}">{html}</script>')


@functools.cache
def _environment() -> jinja2.Environment:
    # Autoescape everything: bodies, headers and messages are the target's data, and may be hostile.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_TEMPLATES), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["text"] = _text
    env.globals.update(suite_version=__version__, lazy=_lazy,
                       css=Markup((_TEMPLATES / "report.css").read_text(encoding="utf-8")),
                       js=Markup((_TEMPLATES / "report.js").read_text(encoding="utf-8")))
    return env


def render_report(doc: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> str:
    """The page for a run's or a lint's findings document and exchange log."""
    from conformance.profiles import load_profiles
    from conformance.reports.html.model import build_report
    from conformance.rules import CATALOGUE

    report = build_report(doc, entries, CATALOGUE, load_profiles().versions)
    return _environment().get_template("report.html.j2").render(r=report, page_title=report.title)


def write_html_report(report_dir: Path, doc: Mapping[str, Any], entries: Sequence[Mapping[str, Any]]) -> Path:
    path = report_dir / REPORT_FILE
    path.write_text(render_report(doc, entries), encoding="utf-8")
    return path


def load_report_dir(report_dir: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``findings.json`` and the exchange log of a report directory; a missing log is an empty one."""
    from conformance.exchange_log import EXCHANGES_FILE, read_exchange_log
    from conformance.reports.documents import read_findings_file
    from conformance.reports.run import FINDINGS_FILE

    findings = report_dir / FINDINGS_FILE
    if not findings.is_file():
        raise InputError("no findings.json here", file=str(report_dir),
                         fix="write one with `conformance run --report-dir DIR` or `conformance lint --report-dir DIR`")
    doc = read_findings_file(findings, fix="rewrite it with the run or lint that made it")
    if not isinstance(doc, dict) or not isinstance(doc.get("findings"), list):
        raise InputError("not a findings document (no \"findings\" list)", file=str(findings),
                         fix="point `conformance report` at a directory a run or lint wrote")
    log = report_dir / EXCHANGES_FILE
    return doc, list(read_exchange_log(log)) if log.is_file() else []


def render_diff(changes: Sequence[Any], old: Any, new: Any) -> str:
    """``conformance diff --format html``: the changes between two profiles, breaking ones marked."""
    areas: dict[str, list[Any]] = {}
    for c in changes:
        areas.setdefault(c.area, []).append(c)
    return _environment().get_template("diff.html.j2").render(
        changes=changes, areas=areas, old=old, new=new, page_title=f"API profile diff {old.version} → {new.version}",
        breaking_clients=sum(1 for c in changes if c.breaking_for_clients),
        breaking_servers=sum(1 for c in changes if c.breaking_for_servers))
