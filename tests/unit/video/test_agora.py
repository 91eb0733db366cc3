"""The Agora adapter: tokens Agora would accept, webhooks only Agora could have signed, and
kicking rules that reach Agora even when it stumbles."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from zlib import crc32

import pytest
from agora_token_builder.AccessToken import (
    AccessToken,
    kJoinChannel,
    kPublishAudioStream,
    kPublishDataStream,
    kPublishVideoStream,
    unPackContent,
)
from fakes import free_port, serving
from fakes.agora import FakeAgora, NoticeSender
from fastapi import FastAPI, Request, Response

from domains.video.aggregate import Side
from domains.video.agora import (
    SIGNATURE_HEADER,
    AgoraRest,
    AgoraRestError,
    MalformedNoticeError,
    RtcTokens,
    call_of,
    channel_of,
    parse_notice,
    side_for,
    uid_for,
    verify_signature,
)
from eventlog.settings import Settings

SETTINGS = Settings()
APP_ID, CERTIFICATE = SETTINGS.agora_app_id, SETTINGS.agora_app_certificate
SECRET = SETTINGS.agora_ncs_secret
EXPIRES_AT = 1_800_000_090


def decoded(token: str, channel: str, uid: int) -> dict[int, int]:
    """The privileges of a token, after checking it was signed for `channel` and `uid`."""
    parsed = AccessToken()
    assert parsed.fromString(token), token
    assert token[3:35] == APP_ID
    signature, crc_channel, crc_uid, message = unPackContent(base64.b64decode(token[35:]))
    signed = (APP_ID + channel + str(uid)).encode() + message
    assert signature == hmac.new(CERTIFICATE.encode(), signed, hashlib.sha256).digest()
    assert (crc_channel, crc_uid) == (crc32(channel.encode()), crc32(str(uid).encode()))
    return dict(parsed.messages)


def test_a_call_has_its_own_channel() -> None:
    call_id = uuid.uuid4()
    assert channel_of(call_id) != channel_of(uuid.uuid4())
    assert len(channel_of(call_id)) <= 64
    assert call_of(channel_of(call_id)) == call_id
    assert call_of("lobby") is None
    assert call_of("call-not-a-uuid") is None


def test_the_two_sides_of_a_call_get_different_uids() -> None:
    caller, streamer = uid_for(Side.CALLER), uid_for(Side.STREAMER)
    assert caller != streamer
    assert 0 < caller < 2**32 and 0 < streamer < 2**32
    assert (side_for(caller), side_for(streamer)) == (Side.CALLER, Side.STREAMER)
    assert side_for(0) is None
    assert side_for(12121212) is None


def test_token_grants_publishing_in_one_channel_to_one_uid_until_expiry() -> None:
    channel, uid = channel_of(uuid.uuid4()), uid_for(Side.STREAMER)
    token = RtcTokens(APP_ID, CERTIFICATE).issue(channel, uid, EXPIRES_AT)

    privileges = decoded(token, channel, uid)

    publish = (kJoinChannel, kPublishAudioStream, kPublishVideoStream, kPublishDataStream)
    assert privileges == dict.fromkeys(publish, EXPIRES_AT)
    with pytest.raises(AssertionError):
        decoded(token, channel, uid_for(Side.CALLER))
    with pytest.raises(AssertionError):
        decoded(token, channel_of(uuid.uuid4()), uid)


@pytest.mark.parametrize(("uid", "expires_at"), [(0, EXPIRES_AT), (2**32, EXPIRES_AT), (1, 0)])
def test_token_refuses_any_uid_and_no_expiry(uid: int, expires_at: int) -> None:
    with pytest.raises(ValueError):
        RtcTokens(APP_ID, CERTIFICATE).issue("call-x", uid, expires_at)


def sign(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_signature_from_agora_is_accepted() -> None:
    body = NoticeSender("http://unused", SECRET).notice(103, "call-x", 1, 7)
    assert verify_signature(body, sign(body), SECRET)
    assert verify_signature(body, sign(body).upper(), SECRET)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda body: (body.replace(b"call-x", b"call-y"), sign(body)), id="tampered"),
        pytest.param(lambda body: (body, sign(body, "guess")), id="wrong-secret"),
        pytest.param(lambda body: (body, None), id="missing-header"),
        pytest.param(lambda body: (body, ""), id="empty-header"),
        pytest.param(lambda body: (body, "zz" * 32), id="not-hex"),
    ],
)
def test_signature_not_from_agora_is_refused(forge) -> None:
    body, signature = forge(NoticeSender("http://unused", SECRET).notice(103, "call-x", 1, 7))
    assert not verify_signature(body, signature, SECRET)


def test_no_secret_accepts_nothing() -> None:
    body = b"{}"
    assert not verify_signature(body, sign(body, ""), "")


def test_notice_as_documented_by_agora() -> None:
    body = json.dumps(
        {
            "noticeId": "2000001428:4330:107",
            "productId": 1,
            "eventType": 103,
            "notifyMs": 1611566412672,
            "sid": "C866467GVJJ54687",
            "payload": {
                "channelName": "test_webhook",
                "uid": 12121212,
                "platform": 1,
                "clientSeq": 1625051030746,
                "ts": 1560396843,
                "account": "test",
            },
        }
    ).encode()

    notice = parse_notice(body)

    assert (notice.notice_id, notice.product_id, notice.notify_ms) == (
        "2000001428:4330:107",
        1,
        1611566412672,
    )
    assert (notice.kind, notice.channel, notice.uid) == ("joined", "test_webhook", 12121212)
    assert (notice.client_seq, notice.ts) == (1625051030746, 1560396843)


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        (101, "channel_created"),
        (102, "channel_destroyed"),
        (103, "joined"),
        (104, "left"),
        (105, "joined"),
        (106, "left"),
        (107, "joined"),
        (108, "left"),
        (111, "joined"),
        (112, "left"),
    ],
)
def test_each_channel_event_type(event_type: int, kind: str) -> None:
    channel_event = event_type in (101, 102)
    uid, seq = (None, None) if channel_event else (2, 1625051035390 + event_type)
    body = NoticeSender("http://unused").notice(event_type, "call-x", uid, seq, ts=1560396834)

    notice = parse_notice(body)

    assert (notice.kind, notice.event_type, notice.channel) == (kind, event_type, "call-x")
    assert (notice.uid, notice.client_seq, notice.ts) == (uid, seq, 1560396834)


def _document(top: dict[str, object] | None = None, **payload: object) -> bytes:
    """A broadcaster-join body with fields of the document (`top`) or payload changed;
    None removes a field."""
    document = json.loads(NoticeSender("http://unused").notice(103, "call-x", 2, 5))
    for target, changes in ((document, top or {}), (document["payload"], payload)):
        for key, value in changes.items():
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value
    return json.dumps(document).encode()


def test_the_document_the_malformed_ones_are_made_from_is_fine() -> None:
    assert parse_notice(_document()).kind == "joined"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param(b"[]", id="array"),
        pytest.param(_document({"noticeId": None}), id="no-notice-id"),
        pytest.param(_document({"noticeId": ""}), id="empty-notice-id"),
        pytest.param(_document({"eventType": None}), id="no-event-type"),
        pytest.param(_document({"eventType": 110}), id="unknown-event-type"),
        pytest.param(_document({"eventType": True}), id="boolean-event-type"),
        pytest.param(_document({"eventType": "103"}), id="string-event-type"),
        pytest.param(_document({"notifyMs": None}), id="no-notify-ms"),
        pytest.param(_document({"payload": "x"}), id="payload-not-object"),
        pytest.param(_document(channelName=None), id="no-channel"),
        pytest.param(_document(uid=None), id="join-without-uid"),
        pytest.param(_document(clientSeq=None), id="join-without-client-seq"),
        pytest.param(_document(uid="2"), id="string-uid"),
        pytest.param(_document(uid=-2), id="negative-uid"),
    ],
)
def test_malformed_notices_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedNoticeError):
        parse_notice(body)


async def test_signed_notices_reach_a_webhook_and_forged_ones_are_refused() -> None:
    received: list[str] = []
    app = FastAPI()

    @app.post("/webhooks/agora")
    async def webhook(request: Request) -> Response:
        body = await request.body()
        if not verify_signature(body, request.headers.get(SIGNATURE_HEADER), SECRET):
            return Response(status_code=401)
        received.append(parse_notice(body).notice_id)
        return Response(status_code=200)

    async with serving(app) as base_url:
        sender = NoticeSender(f"{base_url}/webhooks/agora", SECRET)
        body = sender.notice(107, "call-x", 1, 3, notice_id="n-1")
        forged = await sender.send(sender.notice(108, "call-x", 1, 4), forged=True)
        genuine = await sender.send(body)

    assert (forged.status_code, genuine.status_code) == (401, 200)
    assert received == ["n-1"]


@pytest.fixture
async def agora() -> AsyncIterator[FakeAgora]:
    async with FakeAgora() as fake:
        yield fake


def rest(base_url: str, *, secret: str = SETTINGS.agora_customer_secret) -> AgoraRest:
    return AgoraRest(base_url, APP_ID, SETTINGS.agora_customer_id, secret, backoff=0.01)


async def test_kick_creates_a_kicking_rule(agora: FakeAgora) -> None:
    client = rest(agora.base_url)
    try:
        first = await client.kick("call-x", 2, 60)
        second = await client.kick("call-y", 1, 30)
    finally:
        await client.aclose()

    assert first != second
    assert agora.kicks == [
        {"cname": "call-x", "uid": 2, "time_in_seconds": 60},
        {"cname": "call-y", "uid": 1, "time_in_seconds": 30},
    ]


async def test_kick_with_wrong_credentials_fails_at_once(agora: FakeAgora) -> None:
    client = rest(agora.base_url, secret="not-the-secret")
    try:
        with pytest.raises(AgoraRestError) as refused:
            await client.kick("call-x", 2, 60)
    finally:
        await client.aclose()

    assert refused.value.status == 401
    assert agora.requests == 1  # bad credentials do not get better by retrying
    assert agora.kicks == []


async def test_kick_survives_a_failing_agora(agora: FakeAgora) -> None:
    agora.fail_next(2)
    client = rest(agora.base_url)
    try:
        rule = await client.kick("call-x", 2, 60)
    finally:
        await client.aclose()

    assert rule > 0
    assert agora.requests == 3
    assert agora.kicks == [{"cname": "call-x", "uid": 2, "time_in_seconds": 60}]


async def test_kick_gives_up_when_agora_keeps_failing(agora: FakeAgora) -> None:
    agora.fail_next(10)
    client = rest(agora.base_url)
    try:
        with pytest.raises(AgoraRestError) as failed:
            await client.kick("call-x", 2, 60)
    finally:
        await client.aclose()

    assert failed.value.status == 500
    assert agora.requests == 3
    assert agora.kicks == []


async def test_kick_when_agora_is_unreachable() -> None:
    client = rest(f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(AgoraRestError) as failed:
            await client.kick("call-x", 2, 60)
    finally:
        await client.aclose()

    assert failed.value.status is None
