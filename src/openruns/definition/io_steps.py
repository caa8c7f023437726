"""Arguments of the ``file`` and ``email`` steps (both run as activities on the worker)."""

from __future__ import annotations

from email.utils import formataddr, getaddresses
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_RECIPIENTS = 100


def _addresses(value: str | list[str] | None) -> list[str]:
    """Accept ``"a@x, B <b@y>"`` or a list; every entry must be an address (names are kept)."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    pairs = getaddresses([str(item) for item in items])
    if any("@" not in address for _, address in pairs):
        raise ValueError("expected email addresses such as name@example.com")
    if len(pairs) > MAX_RECIPIENTS:
        raise ValueError(f"at most {MAX_RECIPIENTS} recipients")
    return [formataddr(pair) for pair in pairs]


class FileArgs(BaseModel):
    """``file``: read a stored file. ``format: auto`` decides by content type and extension."""

    model_config = ConfigDict(extra="forbid")

    file_id: str = Field(min_length=1, max_length=64)
    format: Literal["auto", "csv", "json", "text"] = "auto"


class EmailArgs(BaseModel):
    """``email``: send one message through the configured SMTP relay."""

    model_config = ConfigDict(extra="forbid")

    to: list[str] = Field(min_length=1)
    subject: str = Field("", max_length=998)
    text: str | None = None
    html: str | None = None
    cc: list[str] = Field(default_factory=list)
    reply_to: str | None = None
    in_reply_to: str | None = Field(
        None, description="Message-ID this answers, e.g. `{{ inputs.email.message_id }}`."
    )

    @field_validator("to", "cc", mode="before")
    @classmethod
    def _recipients(cls, value: str | list[str] | None) -> list[str]:
        return _addresses(value)

    @field_validator("reply_to")
    @classmethod
    def _reply_to(cls, value: str | None) -> str | None:
        return _addresses(value)[0] if value else None

    def recipients(self) -> list[str]:
        """The envelope recipients: the bare addresses of ``to`` and ``cc``."""
        return [address for _, address in getaddresses([*self.to, *self.cc])]
