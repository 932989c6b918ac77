"""The checks a conformance run performs, as pytest modules (collected with ``--pyargs conformance.suite``).

Each module holds checks named after the property they assert, marked with the rule areas they
exercise (``--select`` runs only some). Fixtures come from :mod:`conformance.run.fixtures`:
``conformance_client`` (a recording client for the target and API version: every request it sends
carries an :class:`~conformance.intent.Intent`), ``conformance_profile``, ``conformance_check`` (its
``verdict()`` judges what was sent with every rule and fails the check on an error finding) and
``conformance_target``. A check only sends; what it asserts is in the rules, so a recording of it can be
re-judged later without running it.
"""
