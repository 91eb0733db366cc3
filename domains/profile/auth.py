"""Verification of Firebase ID tokens, with no web framework in sight.

The API layer hands the raw bearer token to :meth:`TokenVerifier.verify` (or
:meth:`TokenVerifier.verify_async`) and gets back a :class:`FirebaseIdentity`, or an
:class:`AuthenticationError` whose message is fit to show to the caller.

Emulator mode
    firebase-admin switches to the Firebase Auth emulator *only* through the
    ``FIREBASE_AUTH_EMULATOR_HOST`` environment variable, which the settings object sets;
    this module never reads or writes the environment itself. The ``emulator`` flag given to
    :class:`TokenVerifier` must agree with it, and a verifier refuses to run when the two
    disagree (:class:`AuthConfigurationError`): a production verifier with that variable
    leaking into its environment would otherwise accept unsigned tokens.

    In emulator mode firebase-admin checks the header and the ``aud``/``iss``/``sub`` claims
    but no signature and no expiry: a token minted by :func:`mint_emulator_token` (or by
    anyone) verifies for whatever uid it names. Outside emulator mode an unsigned token is
    rejected by the header check (no ``kid``, ``alg`` not RS256) before Google's public
    certificates are fetched.

Credentials
    Verifying an ID token needs only the project id and Google's public certificates, so the
    app is initialised with anonymous credentials unless a service-account file is given
    (and always in emulator mode): no Application Default Credentials lookup, which could
    probe the GCE metadata server, ever happens here.

Outside emulator mode firebase-admin checks the RS256 signature against the certificates
at ``certs_url`` (Google's by default), ``exp``, ``iat``, ``aud``, ``iss`` and ``sub``; this
module adds ``auth_time`` (present, not in the future), which firebase-admin for Python
leaves out. A token over :data:`MAX_TOKEN_BYTES` is refused before anything decodes it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import firebase_admin
from firebase_admin import _auth_utils, auth, credentials
from firebase_admin import exceptions as firebase_exceptions
from google.auth.credentials import AnonymousCredentials

from domains.profile.token_cache import VerifiedTokens
from eventlog import text
from eventlog.text import InvalidTextError

__all__ = [
    "ID_TOKEN_ISSUER_PREFIX",
    "AuthConfigurationError",
    "AuthenticationError",
    "AuthenticationUnavailableError",
    "FirebaseIdentity",
    "TokenVerifier",
    "mint_emulator_token",
]

ID_TOKEN_ISSUER_PREFIX = "https://securetoken.google.com/"
"""Issuer of Firebase ID tokens: this prefix followed by the project id."""

EMULATOR_TOKEN_LIFETIME_SECONDS = 3600
MAX_TOKEN_BYTES = 8 * 1024
"""Firebase ID tokens are about 1 KB; anything over this is refused before decoding."""
_MAX_UID_LENGTH = 128  # firebase-admin rejects a longer "sub"

_apps_lock = threading.Lock()


@dataclass(frozen=True)
class FirebaseIdentity:
    """Who a verified ID token says the caller is."""

    uid: str
    email: str | None
    name: str | None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def sign_in_provider(self) -> str | None:
        """The ``firebase.sign_in_provider`` claim (e.g. ``"password"``, ``"custom"``)."""
        firebase_claim = self.claims.get("firebase")
        if isinstance(firebase_claim, dict):
            provider = firebase_claim.get("sign_in_provider")
            if isinstance(provider, str):
                return provider
        return None


class AuthenticationError(Exception):
    """The caller could not be authenticated; ``str(error)`` is a human message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthenticationUnavailableError(AuthenticationError):
    """Google's public certificates could not be fetched: the token is not known to be bad.

    A subclass of :class:`AuthenticationError`, so the token is never accepted, but the API
    layer may answer 503 rather than 401.
    """


class AuthConfigurationError(RuntimeError):
    """The verifier is misconfigured (a server fault, never the caller's)."""


class TokenVerifier:
    """Verifies Firebase ID tokens for one project with a named firebase_admin app."""

    def __init__(
        self,
        project_id: str,
        *,
        emulator: bool,
        credentials_file: Path | None = None,
        certs_url: str | None = None,
        verified_cache_size: int = 10_000,
        verified_cache_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        if not project_id:
            raise AuthConfigurationError("a Firebase project id is required")
        self._project_id = project_id
        self._emulator = emulator
        self._app = _get_or_initialize_app(
            f"olo-{project_id}",
            project_id,
            None if emulator else credentials_file,
        )
        if certs_url is not None:
            _use_certificates(self._app, certs_url)
        # A client sends the same ID token for up to an hour: verify it once. Revocation is
        # not checked by verify() either, so a cached answer is the answer verify() gives,
        # until the token expires.
        self._verified: VerifiedTokens[FirebaseIdentity] = VerifiedTokens(
            verified_cache_size, verified_cache_bytes
        )

    @property
    def project_id(self) -> str:
        return self._project_id

    @property
    def emulator(self) -> bool:
        return self._emulator

    @property
    def app(self) -> firebase_admin.App:
        return self._app

    def verify(self, token: str | None) -> FirebaseIdentity:
        """Verify ``token`` and return the identity it carries.

        Raises :class:`AuthenticationError` for a missing, malformed, expired, revoked or
        foreign token (and :class:`AuthenticationUnavailableError` when the certificates
        cannot be fetched), :class:`AuthConfigurationError` when emulator mode is
        inconsistent.
        """
        token = _checked_size(token)
        self._check_mode()
        try:
            claims = auth.verify_id_token(token, app=self._app)
        except auth.ExpiredIdTokenError as exc:
            raise AuthenticationError("token expired") from exc
        except auth.CertificateFetchError as exc:
            raise AuthenticationUnavailableError(
                f"cannot verify token now: {_reason(exc)}"
            ) from exc
        except (firebase_exceptions.FirebaseError, ValueError) as exc:
            raise self._rejection(token, exc) from exc
        if not self._emulator:
            _check_auth_time(claims)
        return _identity_from_claims(claims)

    async def verify_async(self, token: str | None) -> FirebaseIdentity:
        """:meth:`verify` for async callers.

        Real verification may fetch Google's certificates over HTTP (cached afterwards), so
        it runs in a worker thread; emulator verification is pure CPU and runs inline.
        """
        token = _checked_size(token)
        if (known := self._verified.get(token)) is not None:
            if self._emulator or time.time() < known.claims.get("exp", 0):
                return known
            self._verified.forget(token)
        if self._emulator:
            identity = self.verify(token)
        else:
            identity = await asyncio.to_thread(self.verify, token)
        self._verified.put(token, identity)
        return identity

    @property
    def cached_tokens(self) -> int:
        return len(self._verified)

    @property
    def cached_bytes(self) -> int:
        """The verified-token cache's size estimate (see `token_cache.cost`)."""
        return self._verified.bytes

    def _check_mode(self) -> None:
        emulated = _auth_utils.is_emulated()
        if emulated and not self._emulator:
            raise AuthConfigurationError(
                "FIREBASE_AUTH_EMULATOR_HOST is set but the verifier is not in emulator mode: "
                "refusing to verify, unsigned tokens would be accepted"
            )
        if self._emulator and not emulated:
            raise AuthConfigurationError(
                "the verifier is in emulator mode but FIREBASE_AUTH_EMULATOR_HOST is not set"
            )

    def _rejection(self, token: str, exc: Exception) -> AuthenticationError:
        claims = _unverified_claims(token)
        if claims is not None:
            audience = claims.get("aud")
            issuer = claims.get("iss")
            if (
                isinstance(audience, str)
                and audience != self._project_id
                and isinstance(issuer, str)
                and issuer.startswith(ID_TOKEN_ISSUER_PREFIX)
            ):
                return AuthenticationError(f"token for another project ({audience[:64]})")
        return AuthenticationError(f"invalid token: {_short_reason(exc)}")


def mint_emulator_token(
    uid: str,
    project_id: str,
    *,
    email: str | None = None,
    name: str | None = None,
    now: int | None = None,
) -> str:
    """Build an unsigned ID token such as the Firebase Auth emulator issues.

    Only a verifier in emulator mode accepts it; anywhere else it fails the header check.
    """
    if not uid or len(uid) > _MAX_UID_LENGTH:
        raise ValueError(f"uid must be 1 to {_MAX_UID_LENGTH} characters")
    if not project_id:
        raise ValueError("project_id must not be empty")
    issued_at = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "iss": ID_TOKEN_ISSUER_PREFIX + project_id,
        "aud": project_id,
        "auth_time": issued_at,
        "user_id": uid,
        "sub": uid,
        "iat": issued_at,
        "exp": issued_at + EMULATOR_TOKEN_LIFETIME_SECONDS,
        "firebase": {"identities": {}, "sign_in_provider": "custom"},
    }
    if email is not None:
        claims["email"] = email
    if name is not None:
        claims["name"] = name
    header = {"alg": "none", "typ": "JWT"}
    return f"{_b64url_json(header)}.{_b64url_json(claims)}."


def _get_or_initialize_app(
    name: str, project_id: str, credentials_file: Path | None
) -> firebase_admin.App:
    with _apps_lock:
        try:
            return firebase_admin.get_app(name)
        except ValueError:
            pass  # not initialised yet
        credential: credentials.Base | AnonymousCredentials
        if credentials_file is None:
            credential = AnonymousCredentials()
        else:
            try:
                credential = credentials.Certificate(str(credentials_file))
            except (OSError, ValueError) as exc:
                raise AuthConfigurationError(
                    f"cannot load Firebase credentials from {credentials_file}: {exc}"
                ) from exc
        return firebase_admin.initialize_app(credential, {"projectId": project_id}, name=name)


def _use_certificates(app: firebase_admin.App, certs_url: str) -> None:
    """Make `app` fetch the ID-token signing certificates from `certs_url`.

    firebase-admin has no option for it: its per-app ID-token verifier holds the URL in
    ``cert_url``. Checked, so a firebase-admin that moved it fails loudly, not silently.
    """
    client = auth._get_client(app)
    verifier = getattr(getattr(client, "_token_verifier", None), "id_token_verifier", None)
    if verifier is None or not isinstance(getattr(verifier, "cert_url", None), str):
        raise AuthConfigurationError(
            "this firebase-admin keeps no ID-token certificate URL to override"
        )
    verifier.cert_url = certs_url


def _checked_size(token: str | None) -> str:
    """The stripped token, refused when missing or too large to be a Firebase ID token."""
    if token is None or not token.strip():
        raise AuthenticationError("missing token")
    token = token.strip()
    if len(token) > MAX_TOKEN_BYTES:
        raise AuthenticationError(f"token too large (over {MAX_TOKEN_BYTES} bytes)")
    if not token.isascii():  # a JWT is ASCII, so its length is its size in bytes
        raise AuthenticationError("invalid token: not a JWT")
    return token


def _check_auth_time(claims: dict[str, Any]) -> None:
    """firebase-admin for Python does not check ``auth_time``; Firebase requires it, past."""
    auth_time = claims.get("auth_time")
    if isinstance(auth_time, bool) or not isinstance(auth_time, int | float):
        raise AuthenticationError("invalid token: no auth_time")
    if auth_time > time.time():
        raise AuthenticationError("invalid token: auth_time in the future")


def _identity_from_claims(claims: dict[str, Any]) -> FirebaseIdentity:
    uid = claims.get("uid", claims.get("sub"))
    if not isinstance(uid, str) or not uid:
        raise AuthenticationError("invalid token: no subject")
    try:  # the uid is saved in the log: no control characters, Firebase's length
        text.line(uid, "uid", _MAX_UID_LENGTH)
    except InvalidTextError:
        raise AuthenticationError("invalid token: unacceptable subject") from None
    email = claims.get("email")
    name = claims.get("name")
    return FirebaseIdentity(
        uid=uid,
        email=email if isinstance(email, str) else None,
        name=name if isinstance(name, str) else None,
        claims=dict(claims),
    )


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _short_reason(exc: Exception) -> str:
    """firebase-admin's first sentence (its messages go on with advice and links)."""
    first = _reason(exc).split(". ", 1)[0].rstrip(".")
    return first if len(first) <= 160 else first[:157] + "..."


def _b64url_json(value: dict[str, Any]) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unverified_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT, unchecked; only to word an error message."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    segment = parts[1]
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return payload if isinstance(payload, dict) else None
