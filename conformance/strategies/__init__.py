"""Hypothesis strategies, named as plural nouns of what they generate.

- :mod:`conformance.strategies.jsonschema`: values from the profile's JSON Schemas (requests, bodies).
- :mod:`conformance.strategies.streams`: valid Messages API streams and single mutations of them.
"""

from conformance.strategies.streams import (
    STREAM_MUTATION_NAMES,
    StreamMutation,
    render_sse,
    sse_streams,
    stream_events,
    stream_mutations,
    valid_streams,
)

__all__ = ["STREAM_MUTATION_NAMES", "StreamMutation", "render_sse", "sse_streams", "stream_events", "stream_mutations",
           "valid_streams"]
