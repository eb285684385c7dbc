"""`Refusal`: a webhook call answered with an HTTP error status and a one-line reason.

Raised by the handlers of this package and turned into the response by `engine.webhooks.app`;
it never leaves the package. The status matters to the caller: Business Central retries 408,
429 and 5xx and deletes the subscription on any other error.
"""

from __future__ import annotations

from engine.errors import MlcError

__all__ = ["Refusal"]


class Refusal(MlcError):
    """Answer the webhook call with `status` and this message."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)
