"""DKIM for senders that a permission rests on (``members`` and ``restricted`` processes).

With ``OPENRUNS_EMAIL_VERIFY_DKIM`` on, such a message must carry a DKIM signature that
verifies and whose signing domain (``d=``) aligns with the From header's domain (equal, or
one a subdomain of the other: DMARC's relaxed alignment). Without it, anyone can write any
From header. Verification fetches the signer's public key from DNS (blocking: callers run it
in a thread); ``dnsfunc`` replaces the lookup where DNS cannot be reached.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import dkim

log = logging.getLogger(__name__)

DnsFunc = Callable[..., bytes | None]


def _aligned(signing_domain: str, from_domain: str) -> bool:
    d, f = signing_domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if not d or not f:
        return False
    return d == f or f.endswith("." + d) or d.endswith("." + f)


MAX_VERIFIED_SIGNATURES = 5
"""Signatures verified per message at most (RFC 6376 §6.1 lets a verifier limit them): each
costs a DNS lookup and an RSA check, and a sender may add as many as the size limit allows."""


def _signing_domain(header_value: bytes) -> str:
    """The ``d=`` tag of a DKIM-Signature header value, or "" when it cannot be read."""
    try:
        return dkim.parse_tag_value(header_value).get(b"d", b"").decode("ascii").strip()
    except (dkim.InvalidTagValueList, UnicodeDecodeError):
        return ""


def aligned_signature(raw: bytes, from_domain: str, dnsfunc: DnsFunc | None = None) -> bool:
    """True when one DKIM signature of ``raw`` verifies and aligns with ``from_domain``.

    Only signatures whose ``d=`` aligns are verified, at most ``MAX_VERIFIED_SIGNATURES`` of
    them, each on its own: a broken signature (a forwarder's, say) does not hide a good one.
    """
    try:
        checker = dkim.DKIM(raw, minkey=1024)
    except (dkim.DKIMException, ValueError, UnicodeDecodeError) as exc:
        log.info("DKIM verification failed: %s", exc)
        return False
    signatures = [value for name, value in checker.headers if name.lower() == b"dkim-signature"]
    aligned = [
        i for i, value in enumerate(signatures) if _aligned(_signing_domain(value), from_domain)
    ]
    kwargs = {"dnsfunc": dnsfunc} if dnsfunc else {}
    for index in aligned[:MAX_VERIFIED_SIGNATURES]:
        try:
            if checker.verify(idx=index, **kwargs):
                return True
        except (dkim.DKIMException, ValueError, UnicodeDecodeError) as exc:
            log.info("DKIM signature %d failed: %s", index, exc)
    return False
