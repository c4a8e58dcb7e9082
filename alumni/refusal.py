"""The one shape of a refused input: a stable code for scripts and tests, a message for people."""

from __future__ import annotations


class Refusal(ValueError):
    def __init__(self, code: str, message: object) -> None:
        super().__init__(code)
        self.code = code
        self.message = message  # often a lazy translation: str() it when shown

    def __str__(self) -> str:
        return str(self.message)
