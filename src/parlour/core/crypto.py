"""Values encrypted at rest with keys derived from the server secret.

Each purpose (tenant secrets, and whatever comes later) gets its own 256-bit key, derived from
the server secret with HKDF-SHA256 and an `info` naming the purpose and the key version, so a
key for one purpose never decrypts another's data and the server secret itself (which also
signs tokens) is never used as an encryption key. Values are sealed with AES-256-GCM: a fresh
random 96-bit nonce per value, and associated data that binds the ciphertext to where it
belongs (the caller passes e.g. the tenant id and the secret's name), so a ciphertext copied to
another row fails to open instead of being read in the wrong place.

What is stored is the key version and `nonce || ciphertext+tag`. Only version 1 exists; the
version lets a later release add a key (another derivation, or a secret of its own) and still
open what version 1 sealed while it re-encrypts. Changing the server secret makes everything
sealed under the old one unreadable: `open` then raises `Undecryptable`, never returns garbage.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CURRENT_KEY_VERSION = 1
NONCE_BYTES = 12
# A fixed, public salt: the server secret is already high-entropy (HKDF's salt is optional
# for such input keys); it only sets our derivations apart from anyone else's.
_SALT = b"parlour/hkdf/v1"


class Undecryptable(Exception):
    """The value cannot be opened here: another server secret, another place, or tampered."""


@dataclass(frozen=True, slots=True)
class Sealed:
    key_version: int
    blob: bytes  # nonce || ciphertext || tag


def derive_key(server_secret: str, *, purpose: str, version: int = CURRENT_KEY_VERSION) -> bytes:
    """The 256-bit key for `purpose` at `version`, derived from the server secret."""
    if not server_secret:
        raise ValueError("a server secret is required to derive encryption keys")
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=_SALT,
        info=f"parlour:{purpose}:v{version}".encode(),
    )
    return hkdf.derive(server_secret.encode())


class SecretBox:
    """Seals and opens values for one purpose with keys derived from the server secret."""

    def __init__(self, server_secret: str, *, purpose: str) -> None:
        self._server_secret = server_secret
        self._purpose = purpose
        self._ciphers: dict[int, AESGCM] = {}

    def _cipher(self, version: int) -> AESGCM:
        if version != CURRENT_KEY_VERSION:
            raise Undecryptable(f"unknown key version {version}")
        if version not in self._ciphers:
            key = derive_key(self._server_secret, purpose=self._purpose, version=version)
            self._ciphers[version] = AESGCM(key)
        return self._ciphers[version]

    def seal(self, plaintext: bytes, *, associated_data: bytes) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher(CURRENT_KEY_VERSION).encrypt(nonce, plaintext, associated_data)
        return Sealed(CURRENT_KEY_VERSION, nonce + sealed)

    def open(self, sealed: Sealed, *, associated_data: bytes) -> bytes:
        """The plaintext, or `Undecryptable` (never a partial or wrong value)."""
        if len(sealed.blob) < NONCE_BYTES + 16:
            raise Undecryptable("the stored value is truncated")
        nonce, body = sealed.blob[:NONCE_BYTES], sealed.blob[NONCE_BYTES:]
        try:
            return self._cipher(sealed.key_version).decrypt(nonce, body, associated_data)
        except InvalidTag as exc:
            raise Undecryptable("the value does not open with this key here") from exc
