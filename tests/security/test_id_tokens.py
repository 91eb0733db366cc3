"""Production token verification: firebase-admin runs for real against certificates served on
127.0.0.1 (a locally generated key), so only tokens signed with that key and carrying the
claims Firebase issues are accepted."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from fakes.google_certs import FakeGoogleCerts, rsa_key

from domains.profile.auth import (
    MAX_TOKEN_BYTES,
    AuthenticationError,
    TokenVerifier,
    mint_emulator_token,
)

PROJECT = "olo-prod-test"
NEAR_LIMIT = "x" * 5400  # a claim that makes a signed token just under MAX_TOKEN_BYTES


@pytest.fixture
async def google(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeGoogleCerts]:
    monkeypatch.delenv("FIREBASE_AUTH_EMULATOR_HOST", raising=False)  # production
    async with FakeGoogleCerts() as certs:
        yield certs


@pytest.fixture
def verifier(google: FakeGoogleCerts) -> TokenVerifier:
    return TokenVerifier(PROJECT, emulator=False, certs_url=google.certs_url)


async def test_a_token_signed_with_googles_key_is_accepted(
    google: FakeGoogleCerts, verifier: TokenVerifier
) -> None:
    identity = await verifier.verify_async(google.id_token("alice", PROJECT))
    assert (identity.uid, identity.email) == ("alice", "alice@example.com")
    assert identity.sign_in_provider == "password"
    assert google.fetches == 1  # the certificates came from the loopback endpoint


def _refusals(google: FakeGoogleCerts) -> dict[str, tuple[str, str]]:
    """Tokens production must refuse, and a piece of the message each gets."""
    now = int(time.time())
    return {
        "unsigned (emulator)": (mint_emulator_token("mallory", PROJECT), 'no "kid"'),
        "signed with another key": (
            google.id_token("mallory", PROJECT, key=rsa_key()),
            "signature",
        ),
        "expired": (google.id_token("alice", PROJECT, iat=now - 7200, exp=now - 10), "expired"),
        "issued in the future": (google.id_token("alice", PROJECT, iat=now + 600), "too early"),
        "another audience": (
            google.id_token("alice", PROJECT, aud="someone-else"),
            "another project",
        ),
        "another issuer": (
            google.id_token("alice", PROJECT, iss="https://evil.example/" + PROJECT),
            '"iss"',
        ),
        "no auth_time": (google.id_token("alice", PROJECT, auth_time=None), "no auth_time"),
        "auth_time in the future": (
            google.id_token("alice", PROJECT, auth_time=now + 600),
            "auth_time in the future",
        ),
    }


REFUSED = [
    "unsigned (emulator)",
    "signed with another key",
    "expired",
    "issued in the future",
    "another audience",
    "another issuer",
    "no auth_time",
    "auth_time in the future",
]


@pytest.mark.parametrize("case", REFUSED)
async def test_forged_and_stale_tokens_are_refused_with_a_short_message(
    google: FakeGoogleCerts, verifier: TokenVerifier, case: str
) -> None:
    token, expected = _refusals(google)[case]
    with pytest.raises(AuthenticationError) as refused:
        await verifier.verify_async(token)
    message = str(refused.value)
    assert expected in message, message
    assert len(message) <= 200, message
    assert verifier.cached_tokens == 0


async def test_an_oversize_token_is_refused_before_decoding(
    google: FakeGoogleCerts, verifier: TokenVerifier
) -> None:
    # Validly signed, but 9 KB: refused on its size alone, never decoded or fetched for.
    token = google.id_token("alice", PROJECT, padding="x" * (MAX_TOKEN_BYTES + 1000))
    assert len(token) > MAX_TOKEN_BYTES
    with pytest.raises(AuthenticationError) as refused:
        await verifier.verify_async(token)
    assert str(refused.value) == f"token too large (over {MAX_TOKEN_BYTES} bytes)"
    assert google.fetches == 0
    # A token just under the limit is verified as usual.
    fits = google.id_token("alice", PROJECT, padding=NEAR_LIMIT)
    assert MAX_TOKEN_BYTES - 1000 < len(fits) <= MAX_TOKEN_BYTES
    assert (await verifier.verify_async(fits)).uid == "alice"


async def test_the_verified_token_cache_is_bounded_by_count(google: FakeGoogleCerts) -> None:
    verifier = TokenVerifier(
        PROJECT, emulator=False, certs_url=google.certs_url, verified_cache_size=3
    )
    tokens = [google.id_token(f"user-{n}", PROJECT) for n in range(5)]
    for token in tokens:
        await verifier.verify_async(token)
    assert verifier.cached_tokens == 3
    fetched = google.fetches
    await verifier.verify_async(tokens[-1])  # the newest is still cached: no verification
    assert google.fetches == fetched
    await verifier.verify_async(tokens[0])  # the oldest was dropped: verified again
    assert google.fetches == fetched + 1


async def test_the_verified_token_cache_is_bounded_by_bytes(google: FakeGoogleCerts) -> None:
    """Today's failure: 60 distinct large tokens were all kept. Now the bytes are capped."""
    bound = 100_000
    verifier = TokenVerifier(
        PROJECT, emulator=False, certs_url=google.certs_url, verified_cache_bytes=bound
    )
    sizes = set()
    for n in range(60):
        token = google.id_token(f"user-{n}", PROJECT, padding=NEAR_LIMIT)
        sizes.add(len(token))
        assert (await verifier.verify_async(token)).uid == f"user-{n}"
        assert verifier.cached_bytes <= bound
    # Each entry counts its token twice (the claims decoded from it are about as large).
    assert 0 < verifier.cached_tokens <= bound // (2 * min(sizes))
    assert verifier.cached_tokens < 60
