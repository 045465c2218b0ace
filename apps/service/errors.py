"""The service's one error type: an HTTP status, a message that names the problem, and optional headers."""

from __future__ import annotations


class ServiceError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}
