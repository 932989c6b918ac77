"""The run's defaults, in a module that imports nothing: the pytest entry point reads them in every pytest
run of a project that has the package installed, and a guest loads no more than it needs."""

DEFAULT_EXAMPLES = 20
"""Hypothesis examples per generated check: the default run stays well under a minute on 2 cores."""
LIVE_EXAMPLES = 3
"""Against a live target each example costs requests and tokens: the default suite fits the default caps."""
LIVE_REQUESTS, LIVE_TOKENS = 1000, 100_000
"""The default caps against a live target (the reference server: 5,000 requests, no token cap)."""
REPLAY_MODES = ("rejudge", "strict")
