"""Contract-testing and conformance suite for the Claude Messages API."""

__version__ = "0.1.0"
