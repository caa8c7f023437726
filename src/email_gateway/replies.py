"""Every SMTP reply the gateway sends, in one place (codes exactly as SPEC §6).

A 250 after DATA is sent only once Temporal has accepted the start of every run the message
asks for; anything that may succeed later is a 4xx, so the sending server keeps the message
and tries again.
"""

RECIPIENT_OK = "250 2.1.5 Recipient OK"
ACCEPTED = "250 2.0.0 OK: {runs}"

# Unknown, retired or deleted address, or the process's trigger is disabled: one reply for all,
# so nobody can probe which addresses exist.
UNKNOWN_RECIPIENT = "550 5.1.1 Recipient address rejected: no such mailbox"
SENDER_NOT_PERMITTED = "550 5.7.1 Sender is not allowed to start runs of this process"
FROM_MISMATCH = "550 5.7.1 The From header does not match the envelope sender"
FROM_NOT_ALONE = (
    "550 5.7.1 The message must have one From header carrying the envelope sender alone"
)
NO_ALIGNED_DKIM = "550 5.7.20 No passing DKIM signature aligned with the From domain"
NOT_PUBLISHED = "550 5.2.1 The process has no published revision to run yet"
TOO_BIG = "552 5.3.4 Message too big for this gateway"
TOO_MANY_ATTACHMENTS = "552 5.3.4 Too many attachments in one message"
TOO_BIG_TO_RUN = (
    "552 5.3.4 Message too big to start a run: with the process definition, its text is more "
    "than Temporal takes for one run; send long text as an attachment"
)
TOO_COMPLEX = "552 5.3.4 Too many MIME parts, or parts nested too deeply, in one message"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients in one message"
CANNOT_START = "554 5.3.0 The process cannot start a run from this message: {reason}"
MALFORMED = "554 5.6.0 The message could not be parsed"
UNAVAILABLE = "451 4.3.0 Temporarily unable to start the run; try again later"


def one_line(text: str, limit: int = 300) -> str:
    """Text safe inside a reply line: no CR/LF, printable ASCII, bounded."""
    flat = " ".join(text.split())
    return flat.encode("ascii", "replace").decode()[:limit]
