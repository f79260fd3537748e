"""The real servers the notification tests deliver to, on free ports of this machine: an SMTP server
(aiosmtpd) and a stand-in for a browser vendor's push service that decrypts what it receives with the
subscribing browser's own keys (RFC 8291, aes128gcm) and checks the VAPID signature (RFC 8292).

The push service is the one part that lives outside any install (Google's, Mozilla's, Apple's), so a
local endpoint stands in for it; the encryption and the signature it checks are the real ones.
"""

import base64
import json
import os
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.net import free_port


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SmtpServer:
    """aiosmtpd on 127.0.0.1:`port` (a free one unless given), keeping every message it accepts."""

    def __init__(self, *, port: int | None = None):
        self.port = port or free_port()
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's handler hook
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def start(self) -> "SmtpServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


class BrowserKeys:
    """A browser's push subscription keys: its P-256 key pair and authentication secret."""

    def __init__(self):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.public_bytes = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.auth_secret = os.urandom(16)

    def subscription_json(self, endpoint: str) -> dict:
        """What PushSubscription.toJSON() gives the page."""
        return {"endpoint": endpoint, "keys": {"p256dh": _b64url(self.public_bytes), "auth": _b64url(self.auth_secret)}}

    def decrypt(self, body: bytes) -> bytes:
        """RFC 8291 decryption of one aes128gcm record, as the browser does it."""
        salt, record_size, key_id_length = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        sender_public_bytes = body[21 : 21 + key_id_length]
        ciphertext = body[21 + key_id_length :]
        assert len(ciphertext) <= record_size, "one record expected"
        sender_public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender_public_bytes)
        shared_secret = self.private_key.exchange(ec.ECDH(), sender_public)
        key_info = b"WebPush: info\x00" + self.public_bytes + sender_public_bytes
        ikm = HKDF(algorithm=hashes.SHA256(), length=32, salt=self.auth_secret, info=key_info).derive(shared_secret)
        content_key = HKDF(
            algorithm=hashes.SHA256(), length=16, salt=salt, info=b"Content-Encoding: aes128gcm\x00"
        ).derive(ikm)
        nonce = HKDF(algorithm=hashes.SHA256(), length=12, salt=salt, info=b"Content-Encoding: nonce\x00").derive(ikm)
        padded = AESGCM(content_key).decrypt(nonce, ciphertext, None)
        unpadded = padded.rstrip(b"\x00")
        assert unpadded.endswith(b"\x02"), "the last record ends with the delimiter 0x02"
        return unpadded[:-1]


@dataclass
class PushReceived:
    path: str
    headers: dict[str, str]  # names in lower case
    payload: dict
    vapid_public_key: str
    vapid_claims: dict


@dataclass
class PushService:
    """A push service on 127.0.0.1: each POST to /push/<name> is decrypted with the keys registered for
    that name and kept; `answer` sets the status it replies with (201 is a push accepted)."""

    port: int = field(default_factory=free_port)
    answer: int = 201
    received: list[PushReceived] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    keys: dict[str, BrowserKeys] = field(default_factory=dict)

    def endpoint(self, name: str) -> str:
        self.keys[name] = BrowserKeys()
        return f"http://127.0.0.1:{self.port}/push/{name}"

    def start(self) -> "PushService":
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                try:
                    service.received.append(
                        service._open(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                except Exception as error:  # kept for the test to assert on
                    service.problems.append(f"{type(error).__name__}: {error}")
                    self.send_response(400)
                else:
                    self.send_response(service.answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _open(self, path: str, headers: dict[str, str], body: bytes) -> PushReceived:
        assert headers.get("content-encoding") == "aes128gcm", f"content encoding {headers.get('content-encoding')}"
        keys = self.keys[path.rsplit("/", 1)[-1]]
        public_key, claims = _vapid_verified(headers["authorization"])
        return PushReceived(
            path=path,
            headers=headers,
            payload=json.loads(keys.decrypt(body)),
            vapid_public_key=public_key,
            vapid_claims=claims,
        )


def _vapid_verified(authorization: str) -> tuple[str, dict]:
    """(the application server's public key, the JWT's claims) of `vapid t=<jwt>, k=<key>`, once the
    JWT's ES256 signature is checked against the key."""
    scheme, _, parameters = authorization.partition(" ")
    assert scheme == "vapid", f"authorization scheme {scheme!r}"
    values = dict(part.strip().split("=", 1) for part in parameters.split(","))
    token, public_key = values["t"], values["k"]
    signed, _, signature = token.rpartition(".")
    raw = _unb64url(signature)
    verifier = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64url(public_key))
    verifier.verify(
        encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")),
        signed.encode(),
        ec.ECDSA(hashes.SHA256()),
    )
    return public_key, json.loads(_unb64url(signed.split(".")[1]))
