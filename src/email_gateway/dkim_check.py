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
    return d == f or f.endswith("." + d) or d.endswith("." + f)


def aligned_signature(raw: bytes, from_domain: str, dnsfunc: DnsFunc | None = None) -> bool:
    """True when one DKIM signature of ``raw`` verifies and aligns with ``from_domain``."""
    try:
        checker = dkim.DKIM(raw, minkey=1024)
        signatures = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
        for index in range(signatures):
            kwargs = {"dnsfunc": dnsfunc} if dnsfunc else {}
            if checker.verify(idx=index, **kwargs) and _aligned(
                checker.domain.decode() if checker.domain else "", from_domain
            ):
                return True
    except (dkim.DKIMException, ValueError, UnicodeDecodeError) as exc:
        log.info("DKIM verification failed: %s", exc)
    return False
