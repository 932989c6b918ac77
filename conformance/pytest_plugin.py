"""pytest plugin (registered through the ``pytest11`` entry point): the conformance run.

``conformance run`` is a thin layer over ``pytest --pyargs conformance.suite`` with the options
below; both do the same thing.

A guest in every test run: the entry point only adds its options (one ``conformance`` group) and two
namespaced markers. Everything else (fixtures, parametrization, reports) lives on a
:class:`~conformance.run.plugin.ConformanceRun` object and in :mod:`conformance.run.fixtures`, registered
only when ``--conformance-target`` is given, so a project that merely has the package installed sees nothing
of it. The target and options are in :mod:`conformance.run.target`, the judge of each check in
:mod:`conformance.run.judge`.

Flow: a session fixture starts or connects to the target; each check in ``conformance.suite``
sends requests through its ``conformance_client``, each stamped with an :class:`~conformance.intent.Intent`
(what it was sent to provoke), and ends with ``conformance_check.verdict()``, which judges every new
exchange with every rule (the intent rules included) and fails the check once, listing everything.
Workers hand their records to the controller through xdist's ``workeroutput``; the controller writes
``junit.xml``, ``findings.json``, ``exchanges.jsonl``, ``summary.md`` and ``report.html`` into the report
directory.

Replaying ``--target cassettes:DIR`` re-judges what was recorded (the default ``--conformance-replay-mode
rejudge``): no check function runs and nothing is regenerated; each check's recorded exchanges, with their
intents, go through today's rules. ``strict`` regenerates the requests and asks vcrpy for byte-identical
matches instead (the project's own determinism test).
"""

from __future__ import annotations

import pytest

from conformance.run.defaults import DEFAULT_EXAMPLES, LIVE_EXAMPLES, REPLAY_MODES


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "Claude API conformance run")
    group.addoption("--conformance-target", default=None, metavar="TARGET",
                    help="reference (the embedded reference server), a base URL, or cassettes:DIR (replay)")
    group.addoption("--conformance-api-version", action="append", default=None, metavar="V",
                    help="API version(s) to check (repeatable; default: every version in the table)")
    group.addoption("--conformance-api-key-env", default="ANTHROPIC_API_KEY", metavar="NAME",
                    help="environment variable holding the key for a live target")
    group.addoption("--conformance-ratelimit-key-env", default=None, metavar="NAME",
                    help="environment variable holding a low-tier key used only by the rate-limit burst (live targets)")
    group.addoption("--conformance-upstream-control", default=None, metavar="URL",
                    help="a URL target that is a gateway in front of `conformance serve`: that server (faults)")
    group.addoption("--conformance-upstream-control-token-env", default=None, metavar="NAME",
                    help="environment variable holding that server's control token")
    group.addoption("--conformance-upstream-key-env", default=None, metavar="NAME",
                    help="environment variable holding the key the gateway sends upstream (default: the run's key)")
    group.addoption("--conformance-record-mode", default=None, choices=("none", "once", "new_episodes", "all"),
                    help="record/replay cassettes with vcrpy in this mode")
    group.addoption("--conformance-cassette-dir", default="cassettes", metavar="DIR")
    group.addoption("--conformance-replay-mode", default="rejudge", choices=REPLAY_MODES,
                    help="cassettes: targets: rejudge the recorded exchanges (default) or strict "
                         "(regenerate the requests and replay byte-identical matches)")
    group.addoption("--conformance-max-examples", type=int, default=None, metavar="N",
                    help=f"Hypothesis examples per generated check (default {DEFAULT_EXAMPLES}; "
                         f"{LIVE_EXAMPLES} for a URL)")
    group.addoption("--conformance-max-requests", type=int, default=None, metavar="N",
                    help="hard cap on requests sent (default: 5000 for the reference server, 1000 for a URL)")
    group.addoption("--conformance-max-tokens", type=int, default=None, metavar="N",
                    help="hard cap on tokens spent (default: none for the reference server, 100000 for a URL)")
    group.addoption("--conformance-report-dir", default="reports", metavar="DIR")
    group.addoption("--conformance-shrink-requests", type=int, default=25, metavar="N",
                    help="against a live target, requests a failing check may spend on a smaller example (default 25; "
                         "negative checks never shrink)")
    group.addoption("--conformance-max-wait", type=float, default=70.0, metavar="SECONDS",
                    help="the longest a check waits for retry-after (longer: not exercised); default 70")
    group.addoption("--conformance-timeout", type=float, default=60.0, metavar="SECONDS",
                    help="wait this long for an answer to start (a plain answer: to arrive whole); default 60")
    group.addoption("--conformance-stream-timeout", type=float, default=30.0, metavar="SECONDS",
                    help="a stream silent this long between events has stalled (stream.stalled); default 30")
    group.addoption("--conformance-select", action="append", default=None, metavar="RULE_OR_AREA",
                    help="only run checks for these rules or areas, and only report them")
    group.addoption("--conformance-ignore", action="append", default=None, metavar="RULE_OR_AREA",
                    help="leave out these rules or areas (wins over --conformance-select)")
    group.addoption("--conformance-first-failure-per-rule", action="store_true", default=False,
                    help="once a check fails, skip later checks of its primary area (a quick verdict)")
    group.addoption("--conformance-party", default="all", choices=("client", "server", "all"),
                    help="whose findings to report and fail on")
    group.addoption("--conformance-mutant", default=None, metavar="NAME",
                    help="start the reference server as this contract-breaking mutant (suite self-test)")
    group.addoption("--conformance-seed", type=int, default=0, metavar="N", help="reference server seed")
    group.addoption("--conformance-baseline", default=None, metavar="FILE",
                    help="known deviations: error findings matching an entry are reported as known and fail no check")
    group.addoption("--conformance-baseline-update", action="store_true", default=False,
                    help="write or refresh --conformance-baseline FILE from this run")
    group.addoption("--conformance-compare-versions", action="store_true", default=False,
                    help="send the same requests under the two --conformance-api-version values and compare the "
                         "answers with what the profiles predict")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "conformance_areas(*areas): rule areas a conformance check exercises")
    config.addinivalue_line("markers", "conformance_once: run this check on the first selected API version only")
    config.addinivalue_line("markers", "conformance_compare_versions: a check of two API versions, collected only "
                                       "with --conformance-compare-versions")
    if config.getoption("conformance_target", None) is None:
        return  # a guest: nothing of the run exists unless it was asked for
    from conformance.run import fixtures
    from conformance.run.plugin import RUN, ConformanceRun

    run = ConformanceRun(config)
    config.stash[RUN] = run
    config.pluginmanager.register(run, "conformance-run")
    config.pluginmanager.register(fixtures, "conformance-run-fixtures")
