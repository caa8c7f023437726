"""OPENRUNS_EMAIL_VERIFY_DKIM: a members/restricted process takes mail only with a DKIM
signature that verifies and aligns with the From domain. DNS is unreachable here, so the
signer's public key is served by ``dkim_dnsfunc`` — the same lookup dkimpy does over DNS."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from email.message import EmailMessage

import dkim
import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from temporalio.client import Client

from email_gateway.dkim_check import MAX_VERIFIED_SIGNATURES, DnsFunc, aligned_signature
from email_gateway.server import Gateway
from openruns.settings import Settings
from openruns.store import Database
from tests.helpers.api import create_process, wait_for_state
from tests.helpers.smtp import as_bytes, send


def _key() -> tuple[bytes, bytes]:
    """A private key (PEM) and its DKIM TXT record."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


CUSTOMER_KEY, CUSTOMER_TXT = _key()
EVIL_KEY, EVIL_TXT = _key()
DNS = {b"s1._domainkey.customer.test.": CUSTOMER_TXT, b"s1._domainkey.evil.test.": EVIL_TXT}


def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
    return DNS.get(name)


def signed(message: EmailMessage, domain: bytes, key: bytes) -> bytes:
    raw = as_bytes(message)
    return dkim.sign(raw, b"s1", domain, key, include_headers=[b"from", b"to", b"subject"]) + raw


def mail(to: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "alice@customer.test"
    message["To"] = to
    message["Subject"] = "signed order"
    message["Message-ID"] = f"<{uuid.uuid4()}@customer.test>"
    message.set_content("order 42")
    return message


@pytest.fixture
async def dkim_gateway(
    settings: Settings, database: Database, client: Client
) -> AsyncIterator[Gateway]:
    strict = settings.model_copy(update={"email_verify_dkim": True})
    async with Gateway(
        strict, database, client, host="127.0.0.1", port=0, dkim_dnsfunc=dnsfunc
    ) as running:
        yield running


async def test_restricted_process_needs_an_aligned_passing_signature(
    api: httpx.AsyncClient, worker: object, dkim_gateway: Gateway
) -> None:
    process = await create_process(
        api, {"outputs": {"s": "{{ inputs.email.subject }}"}}, publish=True
    )
    address = process["email_address"]
    response = await api.put(
        f"/v2/processes/{process['id']}/email-trigger",
        json={"permission": "restricted", "allowed_senders": ["alice@customer.test"]},
    )
    assert response.status_code == 200
    port, sender = dkim_gateway.port, "alice@customer.test"

    good = await send(port, sender, address, signed(mail(address), b"customer.test", CUSTOMER_KEY))
    assert good.code == 250, good
    assert (await wait_for_state(api, good.text.split()[-1]))["state"] == "Succeeded"

    unsigned = await send(port, sender, address, mail(address))
    assert unsigned.code == 550 and "5.7.20" in unsigned.text

    other_domain = await send(port, sender, address, signed(mail(address), b"evil.test", EVIL_KEY))
    assert other_domain.code == 550 and "5.7.20" in other_domain.text

    tampered = signed(mail(address), b"customer.test", CUSTOMER_KEY).replace(
        b"order 42", b"order 99"
    )
    broken = await send(port, sender, address, tampered)
    assert broken.code == 550 and "5.7.20" in broken.text


async def test_anyone_processes_do_not_need_a_signature(
    api: httpx.AsyncClient, worker: object, dkim_gateway: Gateway
) -> None:
    process = await create_process(
        api, {"outputs": {"s": "{{ inputs.email.subject }}"}}, publish=True
    )
    delivery = await send(
        dkim_gateway.port,
        "bob@anywhere.test",
        process["email_address"],
        mail(process["email_address"]),
    )
    assert delivery.code == 250, delivery


def _counting_dns() -> tuple[list[bytes], DnsFunc]:
    lookups: list[bytes] = []

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        lookups.append(name)
        return DNS.get(name)

    return lookups, lookup


def test_a_broken_signature_does_not_hide_a_good_one() -> None:
    raw = as_bytes(mail("orders@openruns.localhost"))
    good = dkim.sign(raw, b"s1", b"customer.test", CUSTOMER_KEY, include_headers=[b"from"])
    broken = b"DKIM-Signature: v=1; a=rsa-sha256; d=customer.test; s=s1; h=from; bh=x; b=y\r\n"
    lookups, lookup = _counting_dns()
    assert aligned_signature(broken + good + raw, "customer.test", lookup)
    assert lookups == [b"s1._domainkey.customer.test."]


def test_only_aligned_signatures_are_verified_and_at_most_a_few() -> None:
    raw = as_bytes(mail("orders@openruns.localhost"))
    unaligned = b"".join(
        dkim.sign(raw, b"s1", b"evil.test", EVIL_KEY, include_headers=[b"from"]) for _ in range(30)
    )
    lookups, lookup = _counting_dns()
    assert not aligned_signature(unaligned + raw, "customer.test", lookup)
    assert lookups == []  # no DNS lookup or RSA check for a signature that could not count

    # Signed by the right domain with the wrong key, 30 times: only the first few are checked.
    forged = b"".join(
        dkim.sign(raw, b"s1", b"customer.test", EVIL_KEY, include_headers=[b"from"])
        for _ in range(30)
    )
    assert not aligned_signature(forged + raw, "customer.test", lookup)
    assert len(lookups) == MAX_VERIFIED_SIGNATURES
