"""Hostile headers and structures cost bounded work, and never make parsing fail.

Work is counted as Python calls (``sys.setprofile``), which a parse quadratic in a header's
length multiplies: a 64 KB To header of quoted strings took 22 s and millions of calls, and
now takes about 30 ms. The count stops a runaway parse at the bound, so the test fails fast.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest

from email_gateway.headers import HEADER_PARSE_LIMIT, NotQuick, TooComplex
from email_gateway.message import ParsedEmail, parse_message
from tests.email_gateway.corpus import corpus

KB64 = 63 * 1024  # with the other headers, just under the 64 KB parsed on the event loop


class TooMuchWork(BaseException):  # not an Exception: the parser's fallbacks must not catch it
    pass


def counted(parse: Callable[[], Any], limit: int) -> tuple[int, float]:
    """Run ``parse``, counting the Python calls it makes; ``TooMuchWork`` past ``limit``.
    Returns the calls and the CPU seconds (profiled, so slower than without)."""
    calls = 0

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1
            if calls > limit:
                raise TooMuchWork(f"more than {limit} calls")

    started = time.process_time()
    sys.setprofile(profile)
    try:
        parse()
    finally:
        sys.setprofile(None)
    return calls, time.process_time() - started


def work_bound(raw: bytes) -> int:
    """A constant for the bounded header parsing (at worst about 300,000 calls), and a few
    calls per line of the rest (short lines are allowed). An ordinary message: 2,000."""
    return 400_000 + 2 * len(raw)


def fill(unit: bytes, size: int) -> bytes:
    return (unit * (size // len(unit) + 1))[:size]


def mail(body: bytes = b"x\r\n", **fields: bytes) -> bytes:
    """A message (or a MIME part) of ``fields`` (``Content_Type``: Content-Type) and ``body``."""
    head = b"".join(f"{k.replace('_', '-')}: ".encode() + v + b"\r\n" for k, v in fields.items())
    return head + b"\r\n" + body


QUOTED = fill(b'"a",', KB64)
COMMENTS = fill(b"(a)", HEADER_PARSE_LIMIT - 10)
FIELDS = ("From", "To", "Cc", "Subject", "Date", "Message_ID")
PARTS = b"".join(
    b"--X\r\n"
    + mail(
        Content_Type=b'text/plain; name="%d"; x=' % i + COMMENTS[:900],
        Content_Disposition=b"attachment; x=" + COMMENTS[:900],
    )
    for i in range(40)
)
PATHOLOGICAL = {
    # The stdlib's header parser is quadratic on each of these: 4–22 s each.
    "To: 64 KB of quoted strings": mail(To=QUOTED),
    "To: 64 KB of commas": mail(To=b"," * KB64),
    "From: 64 KB of quoted strings": mail(From=QUOTED),
    "Content-Type: 13,000 parameters": mail(Content_Type=b"text/plain; " + fill(b"a=b; ", KB64)),
    "a forwarded message whose To is 64 KB of quoted strings": mail(
        mail(b"body\r\n", To=QUOTED), Content_Type=b"message/rfc822"
    ),
    "Subject: 1 MB folded over 256,000 lines": mail(Subject=b"\r\n a" * (256 * 1024)),
    # Each header under the length limit, and of the costliest kind: the budget bounds them.
    "six fields of comments, each just under the limit": mail(**dict.fromkeys(FIELDS, COMMENTS)),
    "40 parts with 1,800 characters of comments each": mail(
        PARTS + b"--X--\r\n", Content_Type=b"multipart/mixed; boundary=X"
    ),
}


@pytest.mark.parametrize("raw", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_pathological_headers_parse_in_linear_work(raw: bytes) -> None:
    parsed: list[ParsedEmail] = []
    calls, cpu = counted(lambda: parsed.append(parse_message(raw)), work_bound(raw))
    # The call count is the guard; CPU is a backstop for work done inside C (a runaway regex,
    # say), loose because profiling and CI's two busy cores slow the bounded cases to 1–2.3 s.
    assert cpu < 10.0, (calls, cpu)
    [email] = parsed
    assert email.to == [] and email.from_addresses == []  # none of these holds an address


def test_a_long_address_header_still_gives_its_addresses() -> None:
    """Over the length limit, a header is kept as raw text and its addresses are what
    ``getaddresses`` finds in its first 8,000 characters: enough for the 100 kept."""
    to = ", ".join(f'"Person {i}, Sales" <person.{i}@example.test>' for i in range(150))
    raw = mail(b"hello\r\n", From=b"a@x.test", To=to.encode(), Subject=b"many")
    assert len(to) > HEADER_PARSE_LIMIT
    parsed = parse_message(raw)
    assert parsed.to == [f"person.{i}@example.test" for i in range(100)]
    assert (parsed.subject, parsed.text) == ("many", "hello\n")


@pytest.mark.parametrize(
    "raw",
    [
        mail(b"--b\r\n\r\n" * 9_000, Content_Type=b"multipart/mixed; boundary=b"),
        b"".join(
            b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
            for i in range(100)
        )
        + b"\r\ninnermost\r\n",
        b"Content-Type: message/rfc822\r\n\r\n" * 300 + b"Subject: innermost\r\n\r\nx\r\n",
    ],
    ids=["9,000 parts", "multiparts nested 100 deep", "messages nested 300 deep"],
)
def test_too_many_or_too_deeply_nested_parts_stop_the_parse(raw: bytes) -> None:
    with pytest.raises(TooComplex):
        counted(lambda: parse_message(raw), work_bound(raw))


INLINE = {name: raw for name, raw in PATHOLOGICAL.items() if len(raw) <= 64 * 1024}


@pytest.mark.parametrize("raw", INLINE.values(), ids=INLINE.keys())
def test_a_quick_parse_is_cheap_or_gives_up_at_once(raw: bytes) -> None:
    """On the event loop: a few milliseconds, else ``NotQuick`` (the thread's turn)."""
    try:
        counted(lambda: parse_message(raw, quick=True), 50_000)
    except NotQuick:
        pass


def test_a_quick_parse_is_the_parse() -> None:
    """Ordinary mail parses quickly, and a quick parse that finishes is the full parse."""
    quick = 0
    for name, raw, _ in corpus("proc-0123456789abcdef@runs.test"):
        try:
            parsed = parse_message(raw, quick=True)
        except NotQuick:
            continue
        quick += 1
        assert parsed == parse_message(raw), name
    assert quick >= 35


@pytest.mark.parametrize(
    "name", ["From", "To", "Cc", "Content-Type", "Content-Transfer-Encoding", "Content-Disposition"]
)
def test_nested_comments_fall_back_to_the_raw_text(name: str) -> None:
    """The parsers recurse once per parenthesis: the header is kept as raw text, with no
    address, and the rest of the message parses as usual."""
    fields = {"From": b"a@x.test", "To": b"b@x.test", "Cc": b"c@x.test", "Subject": b"nested"}
    fields[name.replace("-", "_")] = b"(" * 600 + b"x@y.test"
    parsed = parse_message(mail(b"hello\r\n", **fields))
    assert (parsed.subject, parsed.text, parsed.attachments) == ("nested", "hello\n", [])
    expected = {"From": ["a@x.test"], "To": ["b@x.test"], "Cc": ["c@x.test"]}
    if name in expected:
        expected[name] = []
    assert (parsed.from_addresses, parsed.to, parsed.cc) == tuple(expected.values())
