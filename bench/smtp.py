"""The benchmark's SMTP client: a plain asyncio conversation over prebuilt messages.

The load generator shares the machine's two cores with the system under test. smtplib in
threads costs a message build, a serialisation and a GIL hand-off per message in the bench
process, and all of that would be charged to OpenRuns; here the messages are built before the
clock starts and each one is a handful of socket writes and reply reads. Every reply is read and
checked: a message counts as accepted only on ``250`` after its data.
"""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

SENDER = "bench@example.com"


def build_messages(
    address: str, messages: range, tag: str, text: str = "message {i}"
) -> list[bytes]:
    """Wire-ready messages (CRLF line ends, dot-stuffed, ending in the lone dot); ``text`` is
    the body, formatted with the message's number ``i``."""
    built = []
    for i in messages:
        message = EmailMessage()
        message["From"] = SENDER
        message["To"] = address
        message["Subject"] = f"bench {tag} {i}"
        message["Message-ID"] = f"<{tag}-{i}@bench.example>"
        message.set_content(text.format(i=i))
        lines = message.as_bytes().replace(b"\r\n", b"\n").split(b"\n")
        stuffed = [b"." + line if line.startswith(b".") else line for line in lines]
        built.append(b"\r\n".join(stuffed).rstrip(b"\r\n") + b"\r\n.\r\n")
    return built


class SmtpError(RuntimeError):
    pass


async def _reply(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One (possibly multi-line) reply: its code and its last line."""
    while True:
        line = await reader.readline()
        if not line:
            raise SmtpError("connection closed by the server")
        if line[3:4] != b"-":
            return int(line[:3]), line


async def _expect(reader: asyncio.StreamReader, code: int) -> None:
    got, line = await _reply(reader)
    if got != code:
        raise SmtpError(f"expected {code}, got {line!r}")


async def send_all(port: int, address: str, messages: list[bytes]) -> int:
    """Send ``messages`` over one connection; the number the server accepted."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await _expect(reader, 220)
        writer.write(b"EHLO bench.example\r\n")
        await _expect(reader, 250)
        envelope = f"MAIL FROM:<{SENDER}>\r\n".encode(), f"RCPT TO:<{address}>\r\n".encode()
        accepted = 0
        for data in messages:
            writer.write(envelope[0])
            await _expect(reader, 250)
            writer.write(envelope[1])
            await _expect(reader, 250)
            writer.write(b"DATA\r\n")
            await _expect(reader, 354)
            writer.write(data)
            code, line = await _reply(reader)
            if code != 250:
                raise SmtpError(f"message refused: {line!r}")
            accepted += 1
        writer.write(b"QUIT\r\n")
        await _expect(reader, 221)
        return accepted
    finally:
        writer.close()
        await writer.wait_closed()
