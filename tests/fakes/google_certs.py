"""A loopback stand-in for Google's Firebase ID-token certificates, and the signer of tokens
it vouches for.

async with FakeGoogleCerts() as google:
    verifier = TokenVerifier(PROJECT, emulator=False, certs_url=google.certs_url)
    token = google.id_token("alice", PROJECT)   # RS256, signed with the served key
    await verifier.verify_async(token)

The certificates are served as Google serves them (`{key id: PEM x509 certificate}`), so
firebase-admin and google-auth run for real: fetch, key id look-up, signature and claims.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from fakes import LoopbackServer

ISSUER_PREFIX = "https://securetoken.google.com/"


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def self_signed_pem(key: rsa.RSAPrivateKey) -> str:
    """An x509 certificate of `key`'s public half, as Google's endpoint lists them."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "securetoken.system.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


class FakeGoogleCerts(LoopbackServer):
    """Serves one signing key's certificate at `/certs`; counts the fetches."""

    key_id = "olo-test-key-1"

    def __init__(self) -> None:
        super().__init__()
        self.key = rsa_key()
        self.fetches = 0
        self._certificates = {self.key_id: self_signed_pem(self.key)}
        self.app = FastAPI()
        self.app.get("/certs")(self._certs)

    @property
    def certs_url(self) -> str:
        return f"{self.base_url}/certs"

    async def _certs(self) -> JSONResponse:
        self.fetches += 1
        return JSONResponse(self._certificates)

    def claims(self, uid: str, project_id: str, **changes: Any) -> dict[str, Any]:
        """The claims of a fresh ID token, as Firebase issues them; `changes` override (a
        value of None removes the claim)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER_PREFIX + project_id,
            "aud": project_id,
            "auth_time": now - 60,
            "user_id": uid,
            "sub": uid,
            "iat": now - 60,
            "exp": now + 3540,
            "email": f"{uid}@example.com",
            "firebase": {"identities": {}, "sign_in_provider": "password"},
        }
        claims.update(changes)
        return {k: v for k, v in claims.items() if v is not None}

    def id_token(
        self,
        uid: str,
        project_id: str,
        *,
        key: rsa.RSAPrivateKey | None = None,
        **changes: Any,
    ) -> str:
        """An RS256 ID token signed with the served key (or `key`), under the served key id."""
        return jwt.encode(
            self.claims(uid, project_id, **changes),
            key or self.key,
            algorithm="RS256",
            headers={"kid": self.key_id},
        )
