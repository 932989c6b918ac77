"""The conformance run: its target and options, the judge of each check, the pytest plugin object and fixtures."""
