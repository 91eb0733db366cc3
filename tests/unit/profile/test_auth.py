"""Tests of Firebase ID token verification (domains.profile.auth), all offline."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from firebase_admin import _token_gen

from domains.profile.auth import (
    AuthConfigurationError,
    AuthenticationError,
    FirebaseIdentity,
    TokenVerifier,
    mint_emulator_token,
)

PROJECT = "olo-test"
EMULATOR_ENV = "FIREBASE_AUTH_EMULATOR_HOST"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail (instead of hanging) if firebase-admin tries to fetch Google's certificates."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("firebase-admin tried to fetch public certificates")

    monkeypatch.setattr(_token_gen.CertificateFetchRequest, "__call__", refuse)


@pytest.fixture
def emulator_env(monkeypatch: pytest.MonkeyPatch, no_network: None) -> None:
    monkeypatch.setenv(EMULATOR_ENV, "127.0.0.1:9099")


@pytest.fixture
def verifier(emulator_env: None) -> TokenVerifier:
    return TokenVerifier(PROJECT, emulator=True)


@pytest.fixture
def real_verifier(monkeypatch: pytest.MonkeyPatch, no_network: None) -> TokenVerifier:
    monkeypatch.delenv(EMULATOR_ENV, raising=False)
    return TokenVerifier(PROJECT, emulator=False)


def _segment(value: dict[str, Any]) -> str:
    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(segment: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    result: dict[str, Any] = json.loads(base64.urlsafe_b64decode(padded))
    return result


def test_minted_token_shape() -> None:
    token = mint_emulator_token("u1", PROJECT, email="a@b.c", name="Ann", now=1_700_000_000)
    header, payload, signature = token.split(".")
    assert signature == ""
    assert "=" not in header + payload
    assert _decode(header) == {"alg": "none", "typ": "JWT"}
    assert _decode(payload) == {
        "iss": f"https://securetoken.google.com/{PROJECT}",
        "aud": PROJECT,
        "auth_time": 1_700_000_000,
        "user_id": "u1",
        "sub": "u1",
        "iat": 1_700_000_000,
        "exp": 1_700_003_600,
        "firebase": {"identities": {}, "sign_in_provider": "custom"},
        "email": "a@b.c",
        "name": "Ann",
    }


def test_mint_rejects_bad_uid() -> None:
    with pytest.raises(ValueError):
        mint_emulator_token("", PROJECT)
    with pytest.raises(ValueError):
        mint_emulator_token("x" * 129, PROJECT)


def test_minted_token_verifies(verifier: TokenVerifier) -> None:
    identity = verifier.verify(mint_emulator_token("user-1", PROJECT, email="u@example.com"))
    assert isinstance(identity, FirebaseIdentity)
    assert identity.uid == "user-1"
    assert identity.email == "u@example.com"
    assert identity.name is None
    assert identity.claims["user_id"] == "user-1"
    assert identity.sign_in_provider == "custom"


def test_minted_token_with_name(verifier: TokenVerifier) -> None:
    identity = verifier.verify(mint_emulator_token("user-2", PROJECT, name="Bo"))
    assert (identity.uid, identity.email, identity.name) == ("user-2", None, "Bo")


async def test_verify_async_in_emulator(verifier: TokenVerifier) -> None:
    identity = await verifier.verify_async(mint_emulator_token("user-3", PROJECT))
    assert identity.uid == "user-3"


def test_app_is_named_and_reused(verifier: TokenVerifier) -> None:
    again = TokenVerifier(PROJECT, emulator=True)
    assert again.app is verifier.app
    assert verifier.app.name == f"olo-{PROJECT}"
    assert verifier.app.project_id == PROJECT


def test_token_for_another_project_is_rejected(verifier: TokenVerifier) -> None:
    with pytest.raises(AuthenticationError, match="another project"):
        verifier.verify(mint_emulator_token("user-1", "someone-else"))


def test_wrong_issuer_is_rejected(verifier: TokenVerifier) -> None:
    header, payload, _ = mint_emulator_token("user-1", PROJECT).split(".")
    claims = _decode(payload) | {"iss": "https://evil.example/"}
    with pytest.raises(AuthenticationError, match="invalid token"):
        verifier.verify(f"{header}.{_segment(claims)}.")


@pytest.mark.parametrize("token", [None, "", "   "])
def test_missing_token_is_rejected(verifier: TokenVerifier, token: str | None) -> None:
    with pytest.raises(AuthenticationError, match="missing token"):
        verifier.verify(token)


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "a.b", "....", "eyJhbGciOiJub25lIn0.bm90IGpzb24.", "Bearer x.y.z"],
)
def test_garbage_is_rejected(verifier: TokenVerifier, token: str) -> None:
    with pytest.raises(AuthenticationError, match="invalid token"):
        verifier.verify(token)


def test_tampered_payload_verifies_in_emulator_mode(verifier: TokenVerifier) -> None:
    """The emulator mode checks no signature: tokens are trusted for whatever they say.

    That is expected of the emulator; the protection is that the production verifier
    rejects unsigned tokens (see the non-emulator tests below).
    """
    header, payload, signature = mint_emulator_token("user-1", PROJECT).split(".")
    claims = _decode(payload) | {"sub": "admin", "user_id": "admin"}
    identity = verifier.verify(f"{header}.{_segment(claims)}.{signature}")
    assert identity.uid == "admin"


def test_emulator_mode_checks_no_expiry(verifier: TokenVerifier) -> None:
    old = mint_emulator_token("user-1", PROJECT, now=int(time.time()) - 10 * 86_400)
    assert verifier.verify(old).uid == "user-1"


@pytest.mark.timeout(20)
def test_unsigned_token_is_rejected_outside_emulator(real_verifier: TokenVerifier) -> None:
    token = mint_emulator_token("user-1", PROJECT, email="u@example.com")
    with pytest.raises(AuthenticationError, match=r"invalid token.*kid"):
        real_verifier.verify(token)


@pytest.mark.timeout(20)
def test_unsigned_token_with_kid_is_rejected_outside_emulator(
    real_verifier: TokenVerifier,
) -> None:
    _, payload, _ = mint_emulator_token("user-1", PROJECT).split(".")
    header = _segment({"alg": "none", "typ": "JWT", "kid": "k1"})
    with pytest.raises(AuthenticationError, match=r"invalid token.*algorithm"):
        real_verifier.verify(f"{header}.{payload}.")


@pytest.mark.timeout(20)
async def test_verify_async_outside_emulator(real_verifier: TokenVerifier) -> None:
    with pytest.raises(AuthenticationError):
        await real_verifier.verify_async(mint_emulator_token("user-1", PROJECT))


def test_emulator_env_without_emulator_flag_refuses(emulator_env: None) -> None:
    """A production verifier must not silently trust unsigned tokens."""
    production = TokenVerifier(PROJECT, emulator=False)
    with pytest.raises(AuthConfigurationError):
        production.verify(mint_emulator_token("user-1", PROJECT))


def test_emulator_flag_without_env_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(EMULATOR_ENV, raising=False)
    local = TokenVerifier(PROJECT, emulator=True)
    with pytest.raises(AuthConfigurationError):
        local.verify(mint_emulator_token("user-1", PROJECT))
