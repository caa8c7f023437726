"""Awkward mail, as found in the wild: broken charsets, headers and MIME structures."""

from __future__ import annotations

import base64

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256))).decode()


def _msg(headers: str, body: str = "body\n", *, raw_tail: bytes = b"") -> bytes:
    return (headers.strip("\n") + "\n\n" + body).encode("utf-8", "surrogateescape") + raw_tail


def corpus(to: str) -> list[tuple[str, bytes, int]]:
    """``(name, raw message, expected reply code)`` for every case."""
    h = f"From: a@sender.test\nTo: {to}\nSubject: corpus\n"
    mixed = 'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="XX"\n'
    many_parts = "".join(
        f'--XX\nContent-Type: text/plain\nContent-Disposition: attachment; filename="f{i}.txt"\n\n'
        f"part {i}\n"
        for i in range(150)
    )
    too_many = "".join(f"--XX\nContent-Type: application/octet-stream\n\n{i}\n" for i in range(250))
    cases: list[tuple[str, bytes, int]] = [
        ("unknown charset", _msg(h + "Content-Type: text/plain; charset=x-klingon\n", "qapla\n"), 250),
        ("charset lies", _msg(h + "Content-Type: text/plain; charset=utf-8\n", "")
         + "caf\xe9 latin-1\n".encode("latin-1"), 250),
        ("no From", _msg(f"To: {to}\nSubject: anonymous\n"), 250),
        ("no Subject", _msg(f"From: a@sender.test\nTo: {to}\n"), 250),
        ("no headers at all", b"\njust a body\n", 250),
        ("no Message-ID", _msg(h, "nothing to dedupe on\n"), 250),
        ("multipart without boundary", _msg(h + "Content-Type: multipart/mixed\n", "x\n"), 250),
        ("empty boundary", _msg(h + 'Content-Type: multipart/mixed; boundary=""\n', "--\n"), 250),
        ("boundary never closed",
         _msg(h + mixed, "--XX\nContent-Type: text/plain\n\nunterminated\n"), 250),
        ("boundary missing in body", _msg(h + mixed, "no parts here\n"), 250),
        ("8-bit UTF-8 subject", _msg(f"From: a@sender.test\nTo: {to}\nSubject: Grüße 👋\n"), 250),
        ("8-bit latin-1 From", _msg(f"To: {to}\nSubject: x\n", "b\n").replace(
            b"To:", b"From: J\xfcrgen <j@sender.test>\nTo:"), 250),
        ("huge header line", _msg(h + "X-Long: " + "y" * 20_000 + "\n"), 250),
        ("huge folded header", _msg(h + "X-Folded: " + "\n ".join(["z" * 70] * 500) + "\n"), 250),
        ("empty body", _msg(h, ""), 250),
        ("empty message", b"", 250),
        ("nested multiparts", _msg(h + mixed, _nested()), 250),
        ("inline image", _msg(h + 'MIME-Version: 1.0\nContent-Type: multipart/related; boundary="R"\n',
         f'--R\nContent-Type: text/html\n\n<img src="cid:logo">\n--R\nContent-Type: image/png\n'
         f"Content-ID: <logo>\nContent-Transfer-Encoding: base64\n\n{PNG}\n--R--\n"), 250),
        ("forwarded message", _msg(h + mixed, "--XX\nContent-Type: text/plain\n\nsee below\n--XX\n"
         "Content-Type: message/rfc822\n\nFrom: b@x.test\nSubject: inner\n\ninner body\n--XX--\n"), 250),
        ("invalid base64", _msg(h + mixed, "--XX\nContent-Type: application/pdf\n"
         "Content-Transfer-Encoding: base64\n\n!!!not*base64@@@\n--XX--\n"), 250),
        ("broken quoted-printable", _msg(h + "Content-Transfer-Encoding: quoted-printable\n",
         "soft break =\nbad escape =ZZ end=\n"), 250),
        ("invalid encoded word", _msg(f"From: a@sender.test\nTo: {to}\nSubject: =?utf-8?B?!!!?=\n"), 250),
        ("unknown encoded-word charset",
         _msg(f"From: a@sender.test\nTo: {to}\nSubject: =?x-nope?Q?hi?=\n"), 250),
        ("RFC 2231 filename", _msg(h + mixed, "--XX\nContent-Type: text/plain\n"
         "Content-Disposition: attachment; filename*=utf-8''%E2%82%AC%20rate.txt\n\neuro\n--XX--\n"), 250),
        ("path traversal filename", _msg(h + mixed, "--XX\nContent-Type: text/plain\n"
         'Content-Disposition: attachment; filename="../../etc/passwd"\n\nroot\n--XX--\n'), 250),
        ("garbage content type", _msg(h + "Content-Type: text/\n"), 250),
        ("unknown transfer encoding", _msg(h + "Content-Transfer-Encoding: x-uuencode\n", "begin\n"), 250),
        ("duplicate headers", _msg(h + "Subject: second\nMessage-ID: <a@x>\nMessage-ID: <b@x>\n"), 250),
        ("very long Message-ID", _msg(h + f"Message-ID: <{'m' * 2000}@x.test>\n"), 250),
        ("unparseable Date", _msg(h + "Date: yesterday-ish\n"), 250),
        ("garbage From", _msg(f"From: <<<@@@>>>\nTo: {to}\nSubject: x\n"), 250),
        ("group syntax To", _msg("From: a@sender.test\nTo: undisclosed-recipients:;\nSubject: x\n"), 250),
        ("NUL bytes", _msg(h, "nul\x00in\x00body\n"), 250),
        ("bare CR", _msg(h, "line one\rline two\n"), 250),
        ("only HTML", _msg(h + "Content-Type: text/html; charset=utf-8\n", "<p>only html</p>\n"), 250),
        ("UTF-16 body", _msg(h + "Content-Type: text/plain; charset=utf-16\n"
                             "Content-Transfer-Encoding: base64\n",
                             base64.b64encode("hello".encode("utf-16")).decode() + "\n"), 250),
        ("dot-stuffed lines", _msg(h, ".\n..\n.leading dot\n"), 250),
        ("attachment without filename", _msg(h + mixed, "--XX\nContent-Type: application/zip\n"
         "Content-Disposition: attachment\n\nPK\n--XX--\n"), 250),
        ("150 attachments", _msg(h + mixed, many_parts + "--XX--\n"), 250),
        ("250 attachments", _msg(h + mixed, too_many + "--XX--\n"), 552),
    ]  # fmt: skip
    return cases


def _nested(depth: int = 5) -> str:
    body = "--L0\nContent-Type: text/plain\n\ninnermost\n--L0--\n"
    for level in range(1, depth):
        body = (
            f'--L{level}\nContent-Type: multipart/mixed; boundary="L{level - 1}"\n\n{body}'
            f"--L{level}\nContent-Type: text/csv\n"
            f'Content-Disposition: attachment; filename="l{level}.csv"\n\na,b\n1,2\n--L{level}--\n'
        )
    return f'--XX\nContent-Type: multipart/mixed; boundary="L{depth - 1}"\n\n{body}--XX--\n'
