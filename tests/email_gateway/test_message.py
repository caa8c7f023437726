"""Parsing details the runs rely on: bodies, attachments, dates, limits."""

from __future__ import annotations

from email.message import EmailMessage

from email_gateway.message import BODY_LIMIT, parse_message
from tests.helpers.smtp import as_bytes


def test_bodies_inline_images_and_headers() -> None:
    message = EmailMessage()
    message["From"] = '"Doe, Jane" <Jane@Example.test>'
    message["To"] = "a@x.test, B <b@x.test>"
    message["Cc"] = "c@x.test"
    message["Subject"] = "=?utf-8?q?Gr=C3=BC=C3=9Fe?="
    message["Date"] = "Tue, 24 Nov 2026 10:00:00 +0100"
    message.set_content("plain")
    message.add_alternative('<p>html <img src="cid:logo"></p>', subtype="html")
    html_part = list(message.iter_parts())[1]
    html_part.add_related(b"\x89PNG", maintype="image", subtype="png", cid="<logo>")
    parsed = parse_message(as_bytes(message))
    assert parsed.subject == "Grüße"
    assert parsed.sender == "jane@example.test"
    assert (parsed.to, parsed.cc) == (["a@x.test", "b@x.test"], ["c@x.test"])
    assert parsed.date == "2026-11-24T10:00:00+01:00"
    assert parsed.message_id is None
    assert parsed.text.strip() == "plain" and "<img" in parsed.html
    [image] = parsed.attachments
    assert (image.filename, image.content_type, image.data) == (
        "attachment-1.png",
        "image/png",
        b"\x89PNG",
    )


def test_bodies_have_newline_line_ends_not_the_wire_crlf() -> None:
    raw = (
        b"From: a@x.test\r\nSubject: lines\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\none\r\ntwo\r\n"
        b"--b\r\nContent-Type: text/html; charset=unknown-8bit-x\r\n\r\n<p>a</p>\r\n<p>b</p>\r\n"
        b"--b--\r\n"
    )
    parsed = parse_message(raw)
    # (the CRLF before a boundary belongs to the boundary: RFC 2046 §5.1.1)
    assert parsed.text == "one\ntwo"
    assert parsed.html == "<p>a</p>\n<p>b</p>"  # an unknown charset: the fallback path too


def test_huge_bodies_are_cut_and_flagged() -> None:
    message = EmailMessage()
    message["Subject"] = "big"
    message.set_content("é" * BODY_LIMIT)
    parsed = parse_message(as_bytes(message))
    assert parsed.truncated
    assert len(parsed.text.encode()) <= BODY_LIMIT
