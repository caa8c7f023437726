"""The SMTP gateway (aiosmtpd): turns inbound mail into runs and never loses a message."""
