"""What a proxy session keeps: its exchanges numbered as they start, findings printed as they are found, the
records the reports are written from, the recording, and the verdict.

Live-safe: every credential a client sent (``x-api-key``, ``Authorization``) joins the secrets redacted, in every
encoding (:mod:`conformance.cassettes.redact`), from every line printed, every report and the recording, with the
keys of the environment (``ANTHROPIC_API_KEY``, ``ANTHROPIC_AUTH_TOKEN``, ``--api-key-env``). Nothing is written
before it went through them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from conformance.exchange_log import exchange_fields
from conformance.findings import FAILED, NOT_EXERCISED, PASSED, CheckOutcome, Finding, Severity
from conformance.inflate import InflateOverflow, inflater
from conformance.library import output_redactor, secrets_in
from conformance.lint import label
from conformance.live import LiveExchange, LiveJudge

CHECK = "proxy"
"""The name the reports give the proxy's exchanges (a run's reports name the check that sent each one)."""
FAIL_ON = {"error": Severity.ERROR, "warning": Severity.WARNING, "never": None}
JUDGE_AFTER = 0.002
"""Seconds between an answer going out whole and its judging: long enough for the next request on the
connection to be read and forwarded first, short enough that a finding is printed at once."""


@dataclasses.dataclass
class Recorded:
    """What the recording keeps of one exchange, until it is written (redacted then, with every key seen)."""

    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: bytes | None
    status: int
    reason: str
    response_headers: list[tuple[str, str]]
    response_body: bytes


class PassedBody:
    """The body of an answer the rules do not read (a path that is not a Messages API endpoint), kept for the
    recording as the judge keeps the body of one they read: content-encoding undone (gzip, deflate), at most
    ``limit`` bytes. Past the limit, or in an encoding not undone here, nothing is kept (:meth:`body` is ``None``)."""

    def __init__(self, encoding: str | None, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self.inflate = inflater(encoding)
        identity = (encoding or "identity").strip().lower() == "identity"
        self.chunks: list[bytes] | None = [] if identity or self.inflate is not None else None

    def feed(self, chunk: bytes) -> None:
        if self.chunks is None or not chunk:
            return
        try:
            data = self.inflate.feed(chunk, self.limit - self.size) if self.inflate is not None else chunk
        except (InflateOverflow, zlib.error):
            self.chunks = None  # inflates past the limit, or does not inflate
            return
        if self.size + len(data) > self.limit:
            self.chunks = None
            return
        self.chunks.append(data)
        self.size += len(data)

    def body(self) -> bytes | None:
        """The whole body, once the answer ended; ``None`` when it was not kept."""
        if self.chunks is None:
            return None
        tail = self.inflate.flush() if self.inflate is not None else b""
        return b"".join([*self.chunks, tail])


class ProxySession:
    """One run of ``conformance proxy``: see the module docstring. Used from the proxy's event loop."""

    def __init__(self, judge: LiveJudge, *, upstream: str, out: TextIO, fail_on: str = "error",
                 record: bool = False, max_requests: int | None = None, env_secrets: Sequence[str] = (),
                 on_limit: Callable[[], None] | None = None) -> None:
        self.judge = judge
        self.upstream = upstream
        self.out = out
        self.fail_on = FAIL_ON[fail_on]
        self.record = record
        self.max_requests = max_requests
        self.on_limit = on_limit
        self.env_secrets = list(env_secrets)
        self.secrets: set[str] = set()
        self.records: dict[int, dict[str, Any]] = {}
        self.recorded: dict[int, Recorded] = {}
        self.passed: dict[int, PassedBody] = {}
        """Bodies of answers the rules do not read, kept for the recording while they pass."""
        self.heads: list[Any] = []
        self.findings: list[Finding] = []
        self.open: dict[int, LiveExchange] = {}
        self.pending: dict[int, tuple[Any, Callable[[], None]]] = {}
        """Exchanges whose answer went out whole, waiting to be judged (see :meth:`later`)."""
        self.printed: dict[int, list[Finding]] = {}
        self.started = 0
        self.done = 0
        self.not_recorded = 0
        self.not_judged: list[str] = []
        """The first few exchanges the rules did not read (``GET /health -> 200``): not a Messages API endpoint."""
        self.not_judged_count = 0
        self._lock = threading.Lock()
        self._redactor = output_redactor(self.env_secrets)

    # -- the exchanges ------------------------------------------------------------------------------

    def start(self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes | None) -> LiveExchange:
        """A request arrived (the URL and headers as the proxy forwards them); it is numbered in arrival order."""
        pairs = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in headers]
        with self._lock:
            n = self.started
            self.started += 1
            new = set(secrets_in(pairs)) - self.secrets
            if new:
                self.secrets |= new
                self._redactor = output_redactor([*self.env_secrets, *self.secrets])
        live = self.judge.start(method, url, pairs, body, file=CHECK, interaction=n)
        self.open[n] = live
        return live

    def passing(self, live: LiveExchange) -> PassedBody | None:
        """Where the chunks of ``live``'s answer go to be recorded, when the rules do not read them (the judge
        keeps the body of an answer they read); ``None``: nothing to keep. Call once its head arrived."""
        resp = live.exchange.response
        if not self.record or live.judged or resp is None:
            return None
        kept = PassedBody(resp.headers.get("content-encoding"), self.judge.max_body_bytes)
        self.passed[live.exchange.interaction or 0] = kept
        return kept

    def found(self, live: LiveExchange, findings: list[Finding]) -> None:
        """Findings known before the exchange ended (a stream's events): printed at once."""
        n = live.exchange.interaction or 0
        self.printed.setdefault(n, []).extend(findings)
        for f in findings:
            self.say(self.line(live, f))

    def ended(self, live: LiveExchange, findings: list[Finding], failure: str | None = None) -> None:
        """``live`` ended (``failure``: how its connection broke, if it did); its ``findings`` are counted."""
        ex = live.exchange
        n = ex.interaction or 0
        passed = self.passed.pop(n, None)
        if self.open.pop(n, None) is None:
            return  # ended already (a client that left while the proxy was stopping)
        shown = self.printed.pop(n, [])
        for f in findings:
            if f not in shown:
                self.say(self.line(live, f))
        self.findings.extend(findings)
        if live.judged:
            self.heads.append(live.head_only())
            self.records[n] = self._record(live, findings)
        else:
            self.not_judged_count += 1
            if len(self.not_judged) < 3:
                self.not_judged.append(label(ex))
        if self.record:
            self._keep_recording(live, passed, failure)
        self.done += 1
        if self.max_requests is not None and self.done >= self.max_requests and self.on_limit is not None:
            self.on_limit()

    def later(self, live: LiveExchange, failure: str | None) -> None:
        """End ``live`` once the event loop has had :data:`JUDGE_AFTER` seconds for other work."""
        import asyncio

        def judge() -> None:
            self.pending.pop(id(live), None)
            self.ended(live, live.finish(failure), failure)

        self.pending[id(live)] = (asyncio.get_running_loop().call_later(JUDGE_AFTER, judge), judge)

    def stop(self) -> None:
        """The proxy stopped: judgements still pending run now; exchanges still open end here, judged up to
        where they got."""
        for handle, judge in list(self.pending.values()):
            handle.cancel()
            judge()
        for live in list(self.open.values()):
            live.exchange.notes.append("the proxy stopped before this exchange ended")
            self.ended(live, live.abandon())

    def _record(self, live: LiveExchange, findings: list[Finding]) -> dict[str, Any]:
        ex = live.exchange
        return {"test": CHECK, "areas": [], "version": self.judge.profile(ex).version, **exchange_fields(ex),
                "intent": None, "findings": [f.to_json() for f in findings], "shrinking": False,
                "notes": list(ex.notes)}

    def _keep_recording(self, live: LiveExchange, passed: PassedBody | None, failure: str | None) -> None:
        ex = live.exchange
        req, resp = ex.request, ex.response
        # What passed is recorded whether or not the rules read it: the judge kept the body of an answer they
        # read, ``passed`` the body of one they did not (``None``: past the limit, or not decodable).
        body: bytes | None = None
        if resp is not None:
            if live.judged:
                body = (resp.body or b"") if live.body_kept else None
            elif passed is not None:
                body = passed.body()
        if req is None or resp is None or resp.status is None or body is None or failure or ex.transport_error:
            self.not_recorded += 1
            return
        # The body is kept decoded (inflated): the recording says so by dropping content-encoding.
        headers = [(k, v) for k, v in resp.headers if k.lower() not in ("content-encoding", "content-length")]
        headers.append(("content-length", str(len(body))))
        self.recorded[ex.interaction or 0] = Recorded(req.method, req.url, list(req.headers), req.body, resp.status,
                                                      _reason(resp.status), headers, body)

    # -- what is printed ----------------------------------------------------------------------------

    def line(self, live: LiveExchange, f: Finding) -> str:
        where = f.part + (f" event {f.event}" if f.event is not None else "") + f" {f.path}"
        return (f"#{live.exchange.interaction} {label(live.exchange)}  {f.severity!s:<7} {f.party:<6} {f.rule}  "
                f"{where}: {f.message}")

    def say(self, text: str) -> None:
        self.out.write(self._redactor.text(text) + "\n")
        self.out.flush()

    # -- the end --------------------------------------------------------------------------------------

    def sequence_findings(self) -> list[Finding]:
        found = self.judge.sequence(self.heads)
        for f in found:
            self.say(f"across exchanges  {f.severity!s:<7} {f.party:<6} {f.rule}  {f.message}")
            record = self.records.get(f.interaction) if f.interaction is not None else None
            if record is not None:
                record["findings"].append(f.to_json())
        self.findings.extend(found)
        return found

    def not_judged_text(self) -> str | None:
        """What went through unjudged, said once at the end (``None``: every exchange was judged)."""
        if not self.not_judged_count:
            return None
        return (f"{self.not_judged_count} of {self.done} exchanges were not to a Messages API endpoint, passed on "
                f"unjudged: {', '.join(self.not_judged)}{', ...' if self.not_judged_count > 3 else ''}")

    @property
    def failed(self) -> bool:
        return self.fail_on is not None and any(f.severity >= self.fail_on for f in self.findings)

    def all_secrets(self) -> list[str]:
        return sorted({*self.env_secrets, *self.secrets})

    def write_reports(self, report_dir: Path) -> None:
        """findings.json, exchanges.jsonl, summary.md, report.html (as a run writes them) and junit.xml."""
        from conformance.reports.junit import write_junit
        from conformance.reports.run import write_run_reports

        records = [self.records[n] for n in sorted(self.records)]
        if not records:
            unjudged = self.not_judged_text()
            outcome = CheckOutcome(CHECK, NOT_EXERCISED, "no exchange with the Messages API went through the proxy"
                                   + (f" ({unjudged})" if unjudged else ""))
        else:
            errors = any(Severity.parse(f["severity"]) >= Severity.ERROR for r in records for f in r["findings"])
            outcome = CheckOutcome(CHECK, FAILED if errors else PASSED)
        write_run_reports(report_dir, records, {CHECK: outcome}, target=f"proxy -> {self.upstream}", mutant=None,
                          select=list(self.judge.select), party=self.judge.party,
                          api_versions=[self.judge.api_version] if self.judge.api_version else None,
                          secrets=self.all_secrets())
        write_junit(report_dir / "junit.xml", records, suite="conformance proxy", redact=self._redactor.text)

    def write_recording(self, directory: Path) -> Path | None:
        """The exchanges as one vcrpy cassette (``lint`` and ``run --target cassettes:`` read it), redacted."""
        if not self.recorded:
            return None
        from vcr.request import Request

        from conformance.cassettes.recorder import make_vcr

        name = "proxy-" + dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
        recorder = make_vcr(directory, "all", secrets=self.all_secrets())
        with recorder.use_cassette(name) as cassette:
            for n in sorted(self.recorded):
                r = self.recorded[n]
                request = Request(r.method, r.url, r.request_body,
                                  {k: ", ".join(v) for k, v in _grouped(r.request_headers).items()})
                cassette.append(request, {"status": {"code": r.status, "message": r.reason},
                                          "headers": _grouped(r.response_headers),
                                          "body": {"string": r.response_body}})
        return directory / f"{name}.yaml"


def _grouped(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Headers as vcrpy stores them; a repeated request header as one comma-joined value (vcrpy keeps only
    one value per request header), which is how HTTP says the same thing and how the rules read it."""
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


def _reason(status: int) -> str:
    import http

    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""
