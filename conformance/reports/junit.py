"""JUnit XML for a session that pytest did not run (``conformance proxy``): one test case per exchange.

A case fails when its exchange has an error finding, and lists them; the rest pass. CI systems read the file
as they read the ``junit.xml`` of ``conformance run``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.lint import describe


def write_junit(path: Path, records: Sequence[Mapping[str, Any]], *, suite: str,
                redact: Callable[[str], str] = lambda text: text) -> None:
    """``records`` as the run's reports hold them (exchange fields and their findings); every text redacted."""
    failures = 0
    root = ET.Element("testsuites")
    cases = []
    for n, record in enumerate(records):
        name = f"#{n} " + describe(record.get("method"), record.get("url"), record.get("status"),
                                   bool(record.get("stream")))
        case = ET.Element("testcase", classname=redact(str(record.get("test", suite))), name=redact(name))
        errors = [f for f in record.get("findings", []) if f.get("severity") == "error"]
        if errors:
            failures += 1
            text = "\n".join(f"{f['party']} {f['rule']} [{f.get('part')} {f.get('path')}"
                             f"{'' if f.get('event') is None else ' event ' + str(f['event'])}]: {f['message']}"
                             for f in errors)
            failure = ET.SubElement(case, "failure", message=redact(f"{len(errors)} error finding(s): "
                                                                    f"{errors[0]['rule']}"))
            failure.text = redact(text)
        cases.append(case)
    suite_element = ET.SubElement(root, "testsuite", name=suite, tests=str(len(records)), failures=str(failures),
                                  errors="0", skipped="0")
    suite_element.extend(cases)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
