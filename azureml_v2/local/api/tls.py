"""TLS for `azml server`: a certificate for this machine kept in the home, and waitress channels that speak TLS.

waitress has no TLS of its own. Its channels read and write a non-blocking socket; a channel whose socket is an
``ssl.SSLSocket``, and which takes TLS's "want read / want write" for "nothing yet", serves https with every other
part of the server unchanged (body limits, the slow-client guard, links to its own address).
"""
from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
from pathlib import Path

CERT_FILE, KEY_FILE = "server-cert.pem", "server-key.pem"
_VALID_DAYS = 365
_RENEW_DAYS = 7  # a certificate closer than this to its end is made anew


def context(certfile: Path, keyfile: Path) -> ssl.SSLContext:
    """The server's TLS settings: TLS 1.2 or later with the given certificate chain and key; a file that is
    missing or not a matching PEM certificate and key raises ValueError naming it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"TLS certificate {certfile} with key {keyfile}: {exc.strerror or exc}") from None
    return ctx


def ensure_certificate(home: Path) -> tuple[Path, Path]:
    """A self-signed certificate for this machine (localhost, 127.0.0.1, ::1 and its host name) and its key, kept
    in `home` (the key with mode 0600) and made anew when missing or about to end. Clients trust it by its file:
    ``REQUESTS_CA_BUNDLE=<home>/server-cert.pem``, azure-core's ``connection_verify``."""
    try:
        from cryptography import x509  # optional extra: tls (a certificate of one's own needs none)
    except ImportError:
        raise ValueError("--tls makes a certificate with the cryptography package: pip install 'azureml_v2[tls]', "
                         "or give a certificate of your own (--certfile, --keyfile)") from None

    cert_path, key_path = home / CERT_FILE, home / KEY_FILE
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        left = cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
        if key_path.exists() and left > datetime.timedelta(days=_RENEW_DAYS):
            return cert_path, key_path
    except (OSError, ValueError):
        pass
    cert_pem, key_pem = _self_signed()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    for path, data, mode in ((key_path, key_pem, 0o600), (cert_path, cert_pem, 0o644)):
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    return cert_path, key_path


def _self_signed() -> tuple[bytes, bytes]:
    """A P-256 key and a certificate it signs for the names this machine is reached by on loopback. The certificate
    is its own authority (basic constraints CA, critical), so a client can trust it as a CA file."""
    from cryptography import x509  # optional extra: tls
    from cryptography.hazmat.primitives import hashes, serialization  # optional extra: tls
    from cryptography.hazmat.primitives.asymmetric import ec  # optional extra: tls
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # optional extra: tls

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "azml server")])
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
             x509.IPAddress(ipaddress.ip_address("::1"))]
    host = socket.gethostname()
    if host and host != "localhost":
        names.append(x509.DNSName(host))
    now = datetime.datetime.now(datetime.timezone.utc)
    public = key.public_key()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=_VALID_DAYS))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


class _NotYet(Exception):
    """TLS needs more bytes from the peer before it has data to give (not an OSError: waitress closes on those)."""


def serve_tls(sockets: dict, ctx: ssl.SSLContext) -> None:
    """Make the waitress servers listening in `sockets` (a socket map) speak TLS on every connection they accept,
    on top of whatever channel class they use (call after :func:`.http.guard_slow_clients`)."""
    from waitress.server import BaseWSGIServer  # import budget: only where a server runs

    for listener in list(sockets.values()):
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = _tls_channel(listener.channel_class, ctx)


def _tls_channel(base: type, ctx: ssl.SSLContext) -> type:
    class TlsChannel(base):
        def __init__(self, server, sock, addr, adj, map=None):
            self.handshaking, self.handshake_wants_write = True, False
            # the handshake runs as the peer's bytes come, in the server's loop; the slow-client guard bounds it
            super().__init__(server, ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False),
                             addr, adj, map)

        def _handshake(self) -> None:
            try:
                self.socket.do_handshake()
            except ssl.SSLWantWriteError:
                self.handshake_wants_write = True
                raise _NotYet from None
            except ssl.SSLWantReadError:
                self.handshake_wants_write = False
                raise _NotYet from None
            self.handshaking = self.handshake_wants_write = False

        def handle_read(self):
            try:
                super().handle_read()
            except _NotYet:
                pass

        def recv(self, buffer_size):
            try:
                if self.handshaking:
                    self._handshake()
                data = self.socket.recv(buffer_size)
                # a TLS record may hold more than asked: what OpenSSL has decrypted is not seen by select()
                while data and self.socket.pending():
                    data += self.socket.recv(self.socket.pending())
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                raise _NotYet from None
            if not data:  # the peer closed
                self.handle_close()
            return data

        def writable(self):
            return self.handshake_wants_write or super().writable()

        def handle_write(self):
            if self.handshaking:
                try:
                    self._handshake()
                except _NotYet:
                    pass
                except OSError:  # a failed handshake: the connection is done
                    self.handle_close()
                return
            super().handle_write()

        def send(self, data, do_close=True):
            if self.handshaking:
                return 0
            try:
                return super().send(data, do_close)
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError):
                return 0

    return TlsChannel
