"""The checks a conformance run performs, as pytest modules (collected with ``--pyargs conformance.suite``).

Each module holds checks named after the property they assert, marked with the rule areas they
exercise (``--select`` runs only some). Fixtures come from :mod:`conformance.pytest_plugin`:
``client`` (a recording client for the target and API version), ``profile``, ``conformance`` (the
recorder that validates every exchange and fails the check on an error finding) and
``conformance_target``.
"""
