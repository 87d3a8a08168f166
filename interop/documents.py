"""
Client ID metadata documents served over TLS from 127.0.0.1, as a client would host them.

The draft requires an https client_id, so the tests make a CA of their own, a certificate it
signed for 127.0.0.1 and localhost, and tell the authorization server to trust the CA
(``SSL_CERT_FILE``). Each document is published with the status, headers and body a test
chooses, so that a test can also serve what a hostile or broken client would.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    cert_file: Path
    key_file: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_certificates(directory: Path) -> Certificates:
    """A CA and a server certificate for 127.0.0.1, ::1 and localhost, valid for a day."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("twenty-oauth interop CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = Certificates(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    files.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


@dataclass
class Published:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    send_length: bool = True
    hits: int = 0


class DocumentServer:
    """
    An HTTPS server on 127.0.0.1 answering each published path as told; counts its fetches.
    Port 0 lets the system choose a free port, read back from ``port`` once started.
    """

    def __init__(self, port: int, tls: Certificates, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = port
        self.tls = tls
        self.documents: dict[str, Published] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str) -> str:
        return f"https://{self.host}:{self.port}/{path.lstrip('/')}"

    def publish(
        self,
        path: str,
        document: dict | bytes,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        send_length: bool = True,
    ) -> str:
        """
        Serve ``document`` (JSON unless bytes) at ``path``; returns its URL. Without
        ``send_length`` the body has no Content-Length and ends when the connection closes.
        """
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        all_headers = {"Content-Type": "application/json"}
        all_headers.update(headers or {})
        key = "/" + path.lstrip("/")
        with self._lock:
            previous = self.documents.get(key)
            self.documents[key] = Published(
                body, status, all_headers, send_length, hits=previous.hits if previous else 0
            )
        return self.url(path)

    def hits(self, path: str) -> int:
        with self._lock:
            published = self.documents.get("/" + path.lstrip("/"))
            return published.hits if published else 0

    def _answer(self, path: str) -> Published | None:
        with self._lock:
            published = self.documents.get(path)
            if published is not None:
                published.hits += 1
            return published

    def start(self) -> DocumentServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the standard library's name
                published = server._answer(self.path)
                if published is None:
                    self.send_error(404)
                    return
                self.send_response(published.status)
                for name, value in published.headers.items():
                    self.send_header(name, value)
                if published.send_length:
                    self.send_header("Content-Length", str(len(published.body)))
                self.end_headers()
                self.wfile.write(published.body)

            def log_message(self, format: str, *args) -> None:  # noqa: A002
                return

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.tls.cert_file, self.tls.key_file)
        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = self._httpd.server_address[1]  # the one the system chose, if given 0
        self._httpd.daemon_threads = True
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> DocumentServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
