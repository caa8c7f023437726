"""The ``email`` parser with its work bounded, so that no message can cost seconds of CPU.

``policy.default`` parses each header it is asked for with ``email._header_value_parser``:
3–30 µs per character on ordinary text, and quadratic on hostile text (one 64 KB To header of
``"a","a",…`` took 22 s; a Content-Type with thousands of parameters, 5 s). Measured, per
2,000-character header: at most about 60 ms to parse and fold. So:

- a header longer than ``HEADER_PARSE_LIMIT`` is not parsed: it is kept as its raw text, as
  is any header the parser fails on (it raises, RecursionError included, on some hostile
  input, e.g. a few hundred nested comment parentheses);
- each distinct header value is parsed once per message (the library parses Content-Type again
  on every lookup, about ten per part), and a message's headers together get
  ``PARSE_BUDGET`` characters of parsing; beyond it they are kept as raw text too. The fields
  the run receives (``Budget.field``: From, To, Subject, …) are exempt, each being bounded;
- a message has at most ``MAX_PARTS`` MIME parts, nested at most ``MAX_DEPTH`` deep.

A *quick* parse, made on the event loop, stops (``NotQuick``) instead as soon as it would
parse more than ``QUICK_BUDGET`` characters of headers or ``QUICK_PARTS`` parts, so that it
returns within a few tens of milliseconds or not at all; the caller then parses in a thread.
Mail under every limit parses exactly as ``policy.default`` parses it.
"""

from __future__ import annotations

from email import _header_value_parser as value_parser
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage, Message
from email.parser import BytesParser
from typing import Any, ClassVar

HEADER_PARSE_LIMIT = 2_000  # characters of one header (a To of 30–40 recipients)
PARSE_BUDGET = 16_000  # characters of headers per message (50–100 attachments' headers)
MAX_PARTS = 1_000
MAX_DEPTH = 50
QUICK_BUDGET = 1_000
QUICK_PARTS = 50


class NotQuick(Exception):
    """A quick parse met more than its limits: parse the message again, in a thread."""


class TooComplex(ValueError):
    """More MIME parts, or parts nested deeper, than the gateway parses."""


class RawHeader(BaseHeader):
    """A header kept as its raw text (its first ``HEADER_PARSE_LIMIT`` characters), and
    written out again as it came."""

    max_count = None

    @classmethod
    def parse(cls, value: str, kwds: dict[str, Any]) -> None:
        kwds["parse_tree"] = value_parser.UnstructuredTokenList()
        kwds["decoded"] = value[:HEADER_PARSE_LIMIT]
        kwds["source"] = value

    def init(self, *args: Any, **kw: Any) -> None:
        self._source = kw.pop("source")
        super().init(*args, **kw)

    def fold(self, *, policy: Any) -> str:
        return f"{self.name}: {self._source}{policy.linesep}"


class HeaderClasses(HeaderRegistry):
    """``policy.default``'s header factory, with ``HEADER_PARSE_LIMIT`` and the raw-text
    fallback, building each header class once. The standard one builds a new class (an
    ``ABCMeta.__new__``) for every header of every message it parses: a small message took
    0.72 ms to parse with it, 0.55 ms with this."""

    _classes: ClassVar[dict[type, type[BaseHeader]]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        specialised = self.registry.get(name.lower(), self.default_class)
        built = self._classes.get(specialised)
        if built is None:
            built = self._classes[specialised] = super().__getitem__(name)
        return built

    def __call__(self, name: str, value: str) -> BaseHeader:
        if len(value) > HEADER_PARSE_LIMIT:
            return RawHeader(name, value)
        try:
            return self[name](name, value)
        except Exception:  # the parser has bugs on some hostile headers; keep the raw text
            return RawHeader(name, value)


POLICY = policy.default.clone(header_factory=HeaderClasses())


class _Part(EmailMessage):
    """A message part that knows how deep it sits (the parser attaches each new part to the
    part that contains it)."""

    depth = 0

    def attach(self, payload: Any) -> None:
        if isinstance(payload, _Part):
            payload.depth = self.depth + 1
            if payload.depth > MAX_DEPTH:
                raise TooComplex(f"MIME parts nested more than {MAX_DEPTH} deep")
        super().attach(payload)


class _MessageHeaders(HeaderClasses):
    """The header factory of one message: each distinct header parsed once, within the
    message's budget."""

    def __init__(self, budget: Budget) -> None:
        super().__init__()
        self.budget = budget
        self.parsed: dict[tuple[str, str], BaseHeader] = {}

    def __call__(self, name: str, value: str) -> BaseHeader:
        header = self.parsed.get((name, value))
        if header is None:
            if len(value) <= HEADER_PARSE_LIMIT and self.budget.spend(len(value)):
                header = super().__call__(name, value)
            else:
                header = RawHeader(name, value)
            self.parsed[name, value] = header
        return header


class Budget:
    """The work one parse of one message may do."""

    def __init__(self, *, quick: bool = False) -> None:
        self.quick = quick
        self.chars = QUICK_BUDGET if quick else PARSE_BUDGET
        self.parts = (QUICK_PARTS if quick else MAX_PARTS) + 1  # the parser tries its factory once
        self.policy = POLICY.clone(header_factory=_MessageHeaders(self))

    def parse(self, raw: bytes) -> EmailMessage:
        message = BytesParser(_class=self._part, policy=self.policy).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        return message

    def spend(self, chars: int) -> bool:
        """Whether ``chars`` more characters of headers may be parsed (and count them)."""
        if chars > self.chars:
            if self.quick:
                raise NotQuick
            return False
        self.chars -= chars
        return True

    def field(self, message: Message, name: str) -> BaseHeader | None:
        """The first header ``name``, parsed. The fields the run receives are bounded by
        ``HEADER_PARSE_LIMIT`` each, and charged to the budget by a quick parse only."""
        for key, value in message.raw_items():
            if key.lower() == name.lower():
                if self.quick:
                    self.spend(len(value))
                header = POLICY.header_fetch_parse(key, value)
                assert isinstance(header, BaseHeader)
                return header
        return None

    def _part(self, policy: Any = POLICY) -> _Part:
        self.parts -= 1
        if self.parts < 0:
            if self.quick:
                raise NotQuick
            raise TooComplex(f"more than {MAX_PARTS} MIME parts")
        return _Part(policy=policy)
