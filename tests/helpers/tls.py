"""mTLS in front of the dev server: a throw-away CA, and a TLS terminator that demands a client
certificate signed by it before piping bytes to the plaintext Temporal frontend.

``temporal server start-dev`` has no TLS flags, so this is how the tests reach a Temporal
frontend over mTLS for real (it is also how many deployments do it: Envoy or a load balancer
terminating TLS in front of Temporal).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class Pem:
    cert: bytes
    key: bytes


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(
    subject: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None, **kind: bool
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if kind.get("server"):
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if kind.get("client"):
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256()), key


def _pem(cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> Pem:
    return Pem(
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


@dataclass
class Pki:
    """A CA, a server certificate for ``server_name`` and a client certificate, all PEM."""

    ca: Pem
    server: Pem
    client: Pem
    server_name: str

    @classmethod
    def create(cls, server_name: str = "temporal.openruns.test") -> Pki:
        ca_cert, ca_key = _issue("OpenRuns test CA", None)
        issuer = (ca_cert.subject, ca_key)
        server = _issue(server_name, issuer, server=True)
        client = _issue("openruns-worker", issuer, client=True)
        return cls(_pem(ca_cert, ca_key), _pem(*server), _pem(*client), server_name)

    def write(self, directory: Path) -> dict[str, Path]:
        """Write every PEM into ``directory``; returns their paths by name."""
        paths = {}
        for name, data in {
            "ca.pem": self.ca.cert,
            "server.pem": self.server.cert,
            "server.key": self.server.key,
            "client.pem": self.client.cert,
            "client.key": self.client.key,
        }.items():
            paths[name] = directory / name
            paths[name].write_bytes(data)
        return paths


class MtlsTerminator:
    """Accepts TLS on 127.0.0.1 (client certificate required, HTTP/2 via ALPN) and pipes each
    connection to ``upstream`` in plaintext. Counts the handshakes it accepted."""

    def __init__(self, pki: Pki, directory: Path, upstream: str) -> None:
        paths = pki.write(directory)
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(paths["server.pem"], paths["server.key"])
        self._context.load_verify_locations(paths["ca.pem"])
        self._context.verify_mode = ssl.CERT_REQUIRED
        self._context.set_alpn_protocols(["h2"])
        host, port = upstream.rsplit(":", 1)
        self._upstream = (host, int(port))
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.accepted: list[str] = []

    @property
    def address(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"{ipaddress.ip_address(host)}:{port}"

    async def __aenter__(self) -> MtlsTerminator:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self._context)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        peer = writer.get_extra_info("peercert") or {}
        subject = dict(item[0] for item in peer.get("subject", ()))
        self.accepted.append(subject.get("commonName", "?"))
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()
