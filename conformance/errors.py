"""The suite's own errors (never the target's: those are findings).

    ConformanceError          base; ``str()`` is one line a user can act on
    ├── InputError            a file or value the suite was given is broken (exit 2)
    │   └── ProfileError      a schema/profile under schemas/ is broken or unknown
    └── UsageError            the user called a command wrongly (exit 2)

Each error names the file, the place and the fix, so the CLI can print it as is.
"""

from __future__ import annotations


class ConformanceError(Exception):
    """Base class for every error the suite raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, where: str | None = None,
                 fix: str | None = None) -> None:
        self.file = file
        self.where = where
        self.fix = fix
        self.bare_message = message
        super().__init__(self._render())

    def _render(self) -> str:
        head = ""
        if self.file:
            head = self.file
            if self.where:
                head += f":{self.where}"
            head += ": "
        elif self.where:
            head = f"{self.where}: "
        text = head + self.bare_message
        if self.fix:
            text += f" ({self.fix})"
        return text


class InputError(ConformanceError):
    """A file or value given to the suite cannot be read or understood."""


class ProfileError(InputError):
    """An API-version profile or schema is unknown or broken."""


class UsageError(ConformanceError):
    """A command was called with wrong arguments."""
