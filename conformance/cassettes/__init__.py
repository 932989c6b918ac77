"""Readers: every recording format to :class:`~conformance.exchange.Exchange` objects.

    read_recording(path, limits=ReadLimits()) -> Recording(file, format, exchanges, notes)
    iter_recording_files(paths) -> Iterator[Path]

``Recording.format`` is one of :data:`FORMATS`:

- ``vcrpy-yaml`` / ``vcrpy-json``: vcrpy cassettes (incl. gzip ``!!binary`` bodies and pydantic-ai's
  ``parsed_body`` serializer)
- ``go-vcr``: go-vcr YAML (Title-Case headers, ``url``, ``status: "200 OK"``, ``code``)
- ``nock``: nock recorder JSON (``scope`` + ``path``, ``rawHeaders``, ``response`` object/string/hex)
- ``har``: HAR 1.2 (``log.entries``; base64 ``content.text``)
- ``http-snapshot``: the http-snapshot pytest plugin's inline-snapshot JSON (a list of request/response
  pairs; headers filtered, so response headers never count as complete)
- ``ddtrace-json``: dd-trace test-agent JSON cassette (one exchange)
- ``openinference-json``: openinference JS cassette (the response only)
- ``sse``: raw SSE text (one exchange, no request, status ``None``)
- ``jsonl-events``: one JSON event per line (``Exchange.raw_events``, no event names)
- ``json-message``: a bare JSON response body (no request, status or headers)

Detection is by content first, extension second (see :mod:`conformance.cassettes.detect`).
Bodies are the bytes sent (recorder storage undone); quirks go into ``Recording.notes`` and
``Exchange.notes``. Bad input raises :class:`~conformance.errors.InputError` only; so does input over
:class:`ReadLimits` (bytes read from a file, bytes a compressed body expands to).
"""

from conformance.cassettes._common import FORMATS, Recording
from conformance.cassettes.detect import read_recording
from conformance.cassettes.files import iter_recording_files
from conformance.limits import ReadLimits

__all__ = ["FORMATS", "ReadLimits", "Recording", "iter_recording_files", "read_recording"]
