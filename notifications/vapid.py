"""VAPID keys, the application server's identity to the push services (RFC 8292): plain Python, so
that the settings can check them before Django starts.

Both keys are base64url without padding, as browsers and push libraries write them: the public key
is the uncompressed P-256 point (65 bytes, what `pushManager.subscribe` takes as
applicationServerKey), the private key its 32-byte scalar.
"""

import base64
import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decodes base64url with or without its padding; ValueError when it is not base64url."""
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def vapid_keys_generate() -> tuple[str, str]:
    """A new (public, private) key pair."""
    private = ec.generate_private_key(ec.SECP256R1())
    return _public_text(private.public_key()), b64url_encode(
        private.private_numbers().private_value.to_bytes(32, "big")
    )


def vapid_keys_problem(*, public_key: str, private_key: str) -> tuple[str, str] | None:
    """(variable, what is wrong) when the keys are malformed or not one pair; None when they are good."""
    try:
        scalar = b64url_decode(private_key)
    except ValueError:
        return "VAPID_PRIVATE_KEY", "is not base64url"
    if len(scalar) != 32:
        return (
            "VAPID_PRIVATE_KEY",
            f"must be a 32-byte P-256 private key in base64url (it decodes to {len(scalar)} bytes)",
        )
    try:
        private = ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())
    except ValueError:
        return "VAPID_PRIVATE_KEY", "is not a valid P-256 private key"
    try:
        point = b64url_decode(public_key)
    except ValueError:
        return "VAPID_PUBLIC_KEY", "is not base64url"
    if len(point) != 65 or point[0] != 4:
        return "VAPID_PUBLIC_KEY", "must be an uncompressed P-256 point (65 bytes) in base64url"
    if _public_text(private.public_key()) != b64url_encode(point):
        return "VAPID_PUBLIC_KEY", "is not the public key of VAPID_PRIVATE_KEY"
    return None


def vapid_keys_file_load_or_create(path: Path, *, subject: str) -> dict:
    """The demo's keys: read from `path`, or generated once and written there (a private file), so that
    the browsers' subscriptions outlive a restart of the demo."""
    if path.exists():
        return json.loads(path.read_text())
    public_key, private_key = vapid_keys_generate()
    keys = {"public_key": public_key, "private_key": private_key, "subject": subject}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(json.dumps(keys, indent=2) + "\n")
    return keys


def _public_text(public: ec.EllipticCurvePublicKey) -> str:
    return b64url_encode(public.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
