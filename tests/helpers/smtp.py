"""Talking SMTP to the gateway like a mail server would: smtplib over a real socket."""

from __future__ import annotations

import asyncio
import re
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage


@dataclass
class Delivery:
    """The replies to one SMTP transaction."""

    rcpt: list[tuple[int, str]] = field(default_factory=list)
    data: tuple[int, str] | None = None

    @property
    def code(self) -> int:
        """The reply that decided the message: DATA's, or the first refused RCPT's."""
        if self.data is not None:
            return self.data[0]
        return next(code for code, _ in self.rcpt if code >= 400)

    @property
    def text(self) -> str:
        if self.data is not None:
            return self.data[1]
        return next(text for code, text in self.rcpt if code >= 400)


def as_bytes(message: EmailMessage | bytes) -> bytes:
    raw = message.as_bytes() if isinstance(message, EmailMessage) else message
    return re.sub(rb"\r?\n", b"\r\n", raw)


def deliver(
    port: int,
    sender: str,
    recipients: list[str],
    message: EmailMessage | bytes,
    *,
    starttls: bool = False,
) -> Delivery:
    """One transaction (blocking); records every reply instead of raising."""
    result = Delivery()
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        smtp.ehlo("sender.test")
        if starttls:
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            smtp.starttls(context=context)
            smtp.ehlo("sender.test")
        code, reply = smtp.mail(sender)
        assert code == 250, (code, reply)
        for recipient in recipients:
            code, reply = smtp.rcpt(recipient)
            result.rcpt.append((code, reply.decode()))
        if any(code == 250 for code, _ in result.rcpt):
            code, reply = smtp.data(as_bytes(message))
            result.data = (code, reply.decode())
        else:
            smtp.rset()
    return result


async def send(
    port: int,
    sender: str,
    recipients: list[str] | str,
    message: EmailMessage | bytes,
    *,
    starttls: bool = False,
) -> Delivery:
    """``deliver`` in a thread: the gateway under test runs on this event loop."""
    rcpts = [recipients] if isinstance(recipients, str) else recipients
    return await asyncio.to_thread(deliver, port, sender, rcpts, message, starttls=starttls)


def make_message(
    sender: str,
    to: str,
    subject: str = "hello",
    text: str = "hi",
    message_id: str | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    if message_id:
        message["Message-ID"] = message_id
    message.set_content(text)
    return message
