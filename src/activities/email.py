"""The ``email`` step: send one message through the configured SMTP relay.

smtplib runs in a thread. The Message-ID is ``<run id.step id@email domain>`` on every
attempt, so a receiver can drop the duplicate a retry after a lost reply would cause; the
Date (which RFC 5322 requires) is when the attempt sends it.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from openruns.definition.io_steps import EmailArgs
from openruns.models import StepActivityInput
from openruns.settings import Settings

TIMEOUT_SECONDS = 30.0


def _one_line(value: str) -> str:
    return " ".join(value.splitlines()).strip()


def build_message(args: EmailArgs, sender: str, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(args.to)
    if args.cc:
        message["Cc"] = ", ".join(args.cc)
    if args.reply_to:
        message["Reply-To"] = args.reply_to
    message["Subject"] = _one_line(args.subject)
    message["Date"] = format_datetime(datetime.now(UTC))  # e.g. Tue, 01 Dec 2026 10:00:00 +0000
    message["Message-ID"] = message_id
    if args.in_reply_to:
        message["In-Reply-To"] = message["References"] = _one_line(args.in_reply_to)
    message.set_content(args.text or "")
    if args.html:
        message.add_alternative(args.html, subtype="html")
    return message


class EmailActivities:
    """Holds the relay configuration (``OPENRUNS_SMTP_RELAY*``)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def _send(self, message: EmailMessage, recipients: list[str]) -> dict[str, Any]:
        settings = self._settings
        assert settings.smtp_relay
        host, _, port = settings.smtp_relay.rpartition(":")
        host, port_number = (host, int(port)) if host else (port, 25)
        if settings.smtp_relay_tls == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port_number, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, port_number, timeout=TIMEOUT_SECONDS)
        with smtp:
            if settings.smtp_relay_tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.smtp_relay_user and settings.smtp_relay_password:
                smtp.login(
                    settings.smtp_relay_user, settings.smtp_relay_password.get_secret_value()
                )
            return smtp.send_message(message, to_addrs=recipients)

    @activity.defn(name="openruns.email")
    async def send_email(self, call: StepActivityInput) -> dict[str, Any]:
        """Send the message; a 5xx from the relay fails the step for good, 4xx is retried."""
        if not self._settings.smtp_relay:
            raise ApplicationError(
                "the email step needs a relay: set OPENRUNS_SMTP_RELAY=host:port",
                non_retryable=True,
            )
        args = EmailArgs.model_validate(call.args)
        message_id = f"<{call.run_id}.{call.step_id}@{self._settings.email_domain}>"
        message = build_message(args, self._settings.email_sender, message_id)
        try:
            refused = await asyncio.to_thread(self._send, message, args.recipients())
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise ApplicationError(  # retried while any refusal is temporary (4xx)
                f"the relay refused every recipient: {exc.recipients}",
                non_retryable=all(code >= 500 for code in codes),
            ) from None
        except smtplib.SMTPResponseException as exc:
            reply = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else str(exc.smtp_error)
            )
            raise ApplicationError(
                f"the relay answered {exc.smtp_code} {reply}", non_retryable=exc.smtp_code >= 500
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise ApplicationError(f"cannot send through the relay: {exc}") from None
        result: dict[str, Any] = {"message_id": message_id}
        if refused:
            result["refused"] = {
                rcpt: f"{code} {text.decode(errors='replace')}"
                for rcpt, (code, text) in refused.items()
            }
        return result
