"""Domain errors: a refused transition or rule, with a stable code and a message for people."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the service refused an action. Views turn these into clear messages."""

    code = "domain_error"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409
