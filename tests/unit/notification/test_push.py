"""Push providers against loopback FCM and OneSignal fakes, through the real firebase-admin and
onesignal-sdk clients: what each device is sent, retries, dead tokens, a hanging provider."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from fakes.fcm import FakeFcm
from fakes.onesignal import FakeOneSignal
from firebase_admin import credentials

from domains.notification.fcm import FcmSender
from domains.notification.onesignal import OneSignalSender
from domains.notification.push import Push, PushStatus
from domains.notification.router import PushRouter
from domains.profile.queries import DeviceRecord

NOW = 1_800_000_000
RING = Push.incoming_call("call-7", "Incoming call", "Mia is calling", caller_id="u-1")
ENDED = Push.call_ended("call-7", "answered_elsewhere")
RING_DATA = {"kind": "incoming_call", "call_id": "call-7", "title": "Incoming call",
             "body": "Mia is calling", "caller_id": "u-1"}
ENDED_DATA = {"kind": "call_ended", "call_id": "call-7", "reason": "answered_elsewhere"}


def device(platform: str, fcm: str | None = None, onesignal: str | None = None,
           voip: str | None = None) -> DeviceRecord:
    return DeviceRecord(uuid4(), platform, fcm, onesignal, voip, "1.0", datetime.now(UTC))


IPHONE = device("ios", fcm="fcm-iphone", onesignal="os-iphone", voip="voip-iphone")
PIXEL = device("android", fcm="fcm-pixel", onesignal="os-pixel")


@pytest.fixture
async def fcm() -> AsyncIterator[FakeFcm]:
    async with FakeFcm() as fake:
        yield fake


@pytest.fixture
async def onesignal() -> AsyncIterator[FakeOneSignal]:
    async with FakeOneSignal() as fake:
        yield fake


@pytest.fixture
def fcm_sender(fcm: FakeFcm) -> Iterator[FcmSender]:
    credential = credentials.Certificate(fcm.service_account())
    sender = FcmSender(credential, fcm.project_id, fcm.base_url, ios_bundle_id="app.olo",
                       timeout_seconds=3.0, clock=lambda: NOW)
    yield sender
    sender.close()


@pytest.fixture
def onesignal_sender(onesignal: FakeOneSignal) -> OneSignalSender:
    return OneSignalSender(onesignal.app_id, onesignal.api_key, onesignal.base_url)


def router(fcm: FcmSender | None = None, onesignal: OneSignalSender | None = None,
           preferred: str = "fcm", **options: float) -> PushRouter:
    assert preferred in ("fcm", "onesignal")
    return PushRouter(fcm, onesignal, "onesignal" if preferred == "onesignal" else "fcm",
                      backoff_seconds=0.05, **options)  # type: ignore[arg-type]


async def test_ios_incoming_call_through_fcm_is_a_voip_push(
    fcm: FakeFcm, fcm_sender: FcmSender
) -> None:
    result = await router(fcm_sender).send(IPHONE, RING)

    assert result.ok and result.provider == "fcm"
    assert result.message_id == "projects/demo-olo/messages/1"
    assert fcm.messages == [{
        "token": "fcm-iphone",
        "data": RING_DATA,
        "apns": {
            "headers": {"apns-push-type": "voip", "apns-priority": "10",
                        "apns-topic": "app.olo.voip", "apns-expiration": str(NOW + 30)},
            "payload": {"aps": {"content-available": 1}},
        },
    }]
    assert fcm.tokens_issued == 1  # the real OAuth2 JWT-bearer flow ran against the fake


async def test_ios_incoming_call_through_onesignal_is_a_voip_push(
    onesignal: FakeOneSignal, fcm_sender: FcmSender, onesignal_sender: OneSignalSender
) -> None:
    result = await router(fcm_sender, onesignal_sender).send(IPHONE, RING)

    assert result.ok and result.provider == "onesignal" and result.message_id
    assert onesignal.notifications == [{
        "app_id": "olo-test-app",
        "include_subscription_ids": ["os-iphone"],
        "apns_push_type_override": "voip",
        "content_available": True,
        "data": RING_DATA,
        "priority": 10,
        "ttl": 30,
    }]


async def test_android_incoming_call_is_a_high_priority_data_message(
    fcm: FakeFcm, fcm_sender: FcmSender, onesignal_sender: OneSignalSender
) -> None:
    result = await router(fcm_sender, onesignal_sender).send(PIXEL, RING)

    assert result.ok and result.provider == "fcm"
    assert fcm.messages == [{
        "token": "fcm-pixel",
        "data": RING_DATA,
        "android": {"collapse_key": "call-7", "priority": "high", "ttl": "30s"},
    }]  # no "notification": the app shows its own full-screen call UI


async def test_call_ended_dismisses_ringing_on_every_kind_of_device(
    fcm: FakeFcm, fcm_sender: FcmSender
) -> None:
    send = router(fcm_sender).send
    results = [await send(PIXEL, ENDED), await send(IPHONE, ENDED)]

    assert all(r.ok for r in results)
    assert fcm.messages == [
        {"token": "fcm-pixel", "data": ENDED_DATA,
         "android": {"collapse_key": "call-7", "priority": "high", "ttl": "60s"}},
        {"token": "fcm-iphone", "data": ENDED_DATA,
         "apns": {"headers": {"apns-push-type": "background", "apns-priority": "5",
                              "apns-expiration": str(NOW + 60), "apns-collapse-id": "call-7"},
                  "payload": {"aps": {"content-available": 1}}}},
    ]


async def test_call_ended_through_onesignal_is_data_only(
    onesignal: FakeOneSignal, onesignal_sender: OneSignalSender
) -> None:
    result = await router(None, onesignal_sender).send(PIXEL, ENDED)

    assert result.ok
    assert onesignal.notifications == [{
        "app_id": "olo-test-app", "include_subscription_ids": ["os-pixel"],
        "content_available": True, "data": ENDED_DATA, "priority": 10, "ttl": 60,
    }]


async def test_alert_goes_through_the_preferred_provider(
    fcm: FakeFcm, onesignal: FakeOneSignal, fcm_sender: FcmSender,
    onesignal_sender: OneSignalSender,
) -> None:
    alert = Push.alert("Mia", "sent you a gift", chat_id="c-1")
    by_onesignal = await router(fcm_sender, onesignal_sender, "onesignal").send(PIXEL, alert)
    by_fcm = await router(fcm_sender, onesignal_sender, "fcm").send(PIXEL, alert)

    assert (by_onesignal.provider, by_fcm.provider) == ("onesignal", "fcm")
    assert onesignal.notifications[0]["headings"] == {"en": "Mia"}
    assert onesignal.notifications[0]["contents"] == {"en": "sent you a gift"}
    assert fcm.messages == [{
        "token": "fcm-pixel", "data": {"kind": "alert", "chat_id": "c-1"},
        "notification": {"title": "Mia", "body": "sent you a gift"},
        "android": {"priority": "normal"},
    }]


async def test_device_without_a_usable_address_is_unreachable(fcm_sender: FcmSender) -> None:
    result = await router(fcm_sender).send(device("android", onesignal="os-only"), RING)

    assert result.status is PushStatus.UNREACHABLE and not result.ok and not result.prune


async def test_fcm_outage_is_retried_until_it_answers(
    fcm: FakeFcm, fcm_sender: FcmSender
) -> None:
    fcm.fail_next(2, 503)
    result = await router(fcm_sender).send(PIXEL, RING)

    assert result.ok and result.attempts == 3
    assert fcm.requests == 3 and len(fcm.messages) == 1


async def test_onesignal_outage_is_retried_until_it_answers(
    onesignal: FakeOneSignal, onesignal_sender: OneSignalSender
) -> None:
    onesignal.fail_next(1, 500)
    result = await router(None, onesignal_sender).send(IPHONE, RING)

    assert result.ok and result.attempts == 2 and len(onesignal.notifications) == 1


async def test_persistent_outage_gives_up_after_the_configured_attempts(
    fcm: FakeFcm, fcm_sender: FcmSender
) -> None:
    fcm.fail_next(10, 500)
    result = await router(fcm_sender, attempts=3).send(PIXEL, RING)

    assert result.status is PushStatus.RETRYABLE and not result.prune
    assert result.attempts == 3 and fcm.requests == 3 and fcm.messages == []


async def test_unregistered_fcm_token_means_prune_without_retrying(
    fcm: FakeFcm, fcm_sender: FcmSender
) -> None:
    fcm.unregistered.add("fcm-pixel")
    fcm.malformed.add("fcm-iphone")
    gone = await router(fcm_sender).send(PIXEL, RING)
    malformed = await router(fcm_sender).send(IPHONE, ENDED)

    assert gone.prune and gone.attempts == 1 and "not found" in gone.response.lower()
    assert malformed.prune and malformed.attempts == 1
    assert fcm.requests == 2 and fcm.messages == []


async def test_unknown_onesignal_subscription_means_prune(
    onesignal: FakeOneSignal, onesignal_sender: OneSignalSender
) -> None:
    onesignal.unsubscribed.add("os-pixel")
    result = await router(None, onesignal_sender).send(PIXEL, RING)

    assert result.prune and result.attempts == 1 and "invalid_player_ids" in result.response
    assert onesignal.requests == 1


async def ticks_while(work: asyncio.Future[Any]) -> float:
    """The longest the event loop went without running a 10 ms ticker while `work` ran."""
    longest, last = 0.0, time.monotonic()
    while not work.done():
        await asyncio.sleep(0.01)
        now = time.monotonic()
        longest, last = max(longest, now - last), now
    return longest


async def test_a_slow_fcm_never_blocks_the_event_loop(
    fcm: FakeFcm, fcm_sender: FcmSender
) -> None:
    fcm.delay_seconds = 1.5
    send = asyncio.ensure_future(router(fcm_sender).send(PIXEL, RING))

    assert await ticks_while(send) < 0.2
    assert send.result().ok


async def test_a_hanging_provider_costs_at_most_the_deadline(
    fcm: FakeFcm, onesignal: FakeOneSignal, fcm_sender: FcmSender,
    onesignal_sender: OneSignalSender,
) -> None:
    fcm.delay_seconds = onesignal.delay_seconds = 3
    started = time.monotonic()
    by_fcm = asyncio.ensure_future(router(fcm_sender, deadline_seconds=1.0).send(PIXEL, RING))
    by_onesignal = asyncio.ensure_future(
        router(None, onesignal_sender, deadline_seconds=1.0).send(IPHONE, RING))

    assert await ticks_while(asyncio.gather(by_fcm, by_onesignal)) < 0.2
    assert time.monotonic() - started < 2.0
    assert by_fcm.result().status is PushStatus.RETRYABLE
    assert by_onesignal.result().status is PushStatus.RETRYABLE


async def test_a_push_sent_again_after_a_crash_reaches_onesignal_once(
    onesignal: FakeOneSignal, onesignal_sender: OneSignalSender
) -> None:
    from dataclasses import replace

    once = replace(RING, id="6f1f7f2e-6a43-4c0e-9d8e-1d2b3c4d5e6f")
    send = router(None, onesignal_sender).send
    first, again = await send(IPHONE, once), await send(IPHONE, once)
    other_device = await send(device("ios", onesignal="os-ipad", voip="v"), once)

    assert first.ok and again.ok and first.message_id == again.message_id
    assert onesignal.requests == 3
    keys = [n["idempotency_key"] for n in onesignal.notifications]
    assert len(keys) == 2 and len(set(keys)) == 2  # one per device, each sent once
    assert other_device.message_id != first.message_id


async def test_an_alert_with_a_collapse_key_replaces_the_one_shown(
    fcm: FakeFcm, fcm_sender: FcmSender
) -> None:
    alert = Push.alert("Missed call", "You missed a call", collapse_key="n-1")
    assert (await router(fcm_sender).send(PIXEL, alert)).ok
    assert (await router(fcm_sender).send(IPHONE, alert)).ok

    android, ios = fcm.messages
    assert android["android"] == {
        "collapse_key": "n-1", "priority": "normal", "notification": {"tag": "n-1"}
    }
    assert ios["apns"]["headers"]["apns-collapse-id"] == "n-1"
