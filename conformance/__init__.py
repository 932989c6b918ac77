"""Contract-testing and conformance suite for the Claude Messages API."""

__version__ = "0.2.0"
