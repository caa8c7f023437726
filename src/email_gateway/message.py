"""Parsing inbound mail with the standard ``email`` package (``policy.default``), defensively.

Real mail is full of broken headers, unknown charsets and malformed MIME. Nothing here
raises for those: a header that cannot be parsed falls back to its raw text, a body in an
unknown charset is decoded as UTF-8 with replacement characters, and every leaf part that is
not the text or HTML body (inline images, forwarded messages, files) is an attachment. Hostile
mail costs bounded work (``headers``): over its limits, headers are kept as raw text too.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from email.headerregistry import BaseHeader
from email.message import EmailMessage, Message
from email.utils import getaddresses, parsedate_to_datetime

from email_gateway.headers import Budget

BODY_LIMIT = 200 * 1024  # UTF-8 bytes of text and of HTML kept in the run's inputs
HEADER_LIMIT = 998
ADDRESS_SCAN = 8_000  # characters of a raw address header searched for addresses


@dataclass
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedEmail:
    subject: str = ""
    sender: str | None = None  # the From header's address
    from_addresses: list[str] = field(default_factory=list)  # the first From header's
    from_headers: int = 0  # how many From headers there are (RFC 5322: exactly one)
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    date: str | None = None
    message_id: str | None = None
    text: str = ""
    html: str = ""
    truncated: bool = False
    attachments: list[Attachment] = field(default_factory=list)


def _clean(value: str, limit: int = HEADER_LIMIT) -> str:
    """Undo surrogate escapes of 8-bit bytes, flatten whitespace, drop control characters."""
    value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return " ".join("".join(ch for ch in value if ch.isprintable() or ch.isspace()).split())[:limit]


def _raw_header(message: Message, name: str, limit: int = HEADER_LIMIT) -> str:
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return _clean(str(value)[: limit * 4], limit)  # cut first: _clean is per character
    return ""


def _header(message: Message, budget: Budget, name: str) -> str:
    value = budget.field(message, name)  # the raw text if the parser failed on it
    return "" if value is None else _clean(str(value))


def _addresses(message: Message, budget: Budget, name: str) -> list[str]:
    header: BaseHeader | None = budget.field(message, name)
    try:
        found = [a.addr_spec for a in getattr(header, "addresses", ()) if "@" in a.addr_spec]
    except Exception:
        found = []
    if not found:  # unparsed, or no address the parser understood: what getaddresses finds
        try:
            raw = _raw_header(message, name, ADDRESS_SCAN)
            found = [a for _, a in getaddresses([raw]) if "@" in a]
        except Exception:  # RecursionError on deeply nested comments, among others
            found = []
    return [_clean(a, 320) for a in found][:100]


def _date(message: Message, budget: Budget) -> str | None:
    raw = _header(message, budget, "Date")
    try:
        return parsedate_to_datetime(raw).isoformat() if raw else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return raw or None


def _leaves(part: Message) -> list[Message]:
    """Leaf parts in order; an attached message (message/rfc822) stays one part."""
    if part.get_content_type() == "message/rfc822" or not part.is_multipart():
        return [part]
    payload = part.get_payload()
    return [leaf for sub in payload if isinstance(sub, Message) for leaf in _leaves(sub)]


def _part_bytes(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        if not isinstance(inner, Message):
            return b""
        # The message's own policy (its header limits and budget), with SMTP's line ends.
        return inner.as_bytes(policy=inner.policy.clone(linesep="\r\n"))
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _text(part: Message) -> str:
    """A text part as a string with ``\n`` line ends (SMTP carries CRLF; templates and
    steps should not see a ``\r`` at the end of every line)."""
    try:
        content = part.get_content() if isinstance(part, EmailMessage) else None
        if not isinstance(content, str):
            content = None
    except Exception:  # unknown charset, broken encoding
        content = None
    if content is None:
        content = _part_bytes(part).decode("utf-8", "replace")
    return content.replace("\r\n", "\n")


def _filename(part: Message, index: int) -> str:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    name = _clean(name or "", 255).replace("/", "_").replace("\\", "_")
    if name:
        return name
    extension = mimetypes.guess_extension(part.get_content_type()) or ".bin"
    return f"attachment-{index}{extension}"


def _is_body(part: Message) -> bool:
    if part.get_content_maintype() != "text" or part.get_content_subtype() not in ("plain", "html"):
        return False
    try:
        return part.get_content_disposition() != "attachment" and not part.get_filename()
    except Exception:
        return False


def _cap(text: str) -> tuple[str, bool]:
    data = text.encode("utf-8", "replace")
    if len(data) <= BODY_LIMIT:
        return text, False
    return data[:BODY_LIMIT].decode("utf-8", "ignore"), True


def parse_message(raw: bytes, *, quick: bool = False) -> ParsedEmail:
    """The fields of ``inputs.email`` and the attachments' bytes. ``quick``: raise
    ``NotQuick`` rather than take more than a few tens of milliseconds (see ``headers``);
    ``TooComplex`` for more MIME parts, or deeper nesting, than the gateway parses."""
    budget = Budget(quick=quick)
    message = budget.parse(raw)
    parsed = ParsedEmail(
        subject=_header(message, budget, "Subject"),
        from_addresses=[a.lower() for a in _addresses(message, budget, "From")],
        to=_addresses(message, budget, "To"),
        cc=_addresses(message, budget, "Cc"),
        date=_date(message, budget),
        message_id=_header(message, budget, "Message-ID") or None,
    )
    parsed.sender = parsed.from_addresses[0] if parsed.from_addresses else None
    parsed.from_headers = sum(1 for key, _ in message.raw_items() if key.lower() == "from")
    texts: list[str] = []
    htmls: list[str] = []
    for part in _leaves(message):
        if _is_body(part):
            (htmls if part.get_content_subtype() == "html" else texts).append(_text(part))
            continue
        data = _part_bytes(part)
        if data or part is not message:
            index = len(parsed.attachments) + 1
            parsed.attachments.append(
                Attachment(_filename(part, index), part.get_content_type(), data)
            )
    parsed.text, text_cut = _cap("\n".join(t for t in texts if t))
    parsed.html, html_cut = _cap("\n".join(h for h in htmls if h))
    parsed.truncated = text_cut or html_cut
    return parsed
