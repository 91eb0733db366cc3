"""The Notification aggregate: given earlier events, when one command, then events."""

from __future__ import annotations

from uuid import uuid4

from domains.notification.aggregate import (
    Notification,
    NotificationKind,
    NotificationStatus,
    notification_id_of,
)

T0 = 1_800_000_000.0


def requested(key: str = "call/1/callee") -> Notification:
    return Notification(
        key=key,
        recipient_id=uuid4(),
        kind=NotificationKind.INCOMING_CALL,
        payload={"call": "1"},
        at=T0,
        ack_deadline=T0 + 2,
    )


def names(n: Notification) -> list[str]:
    return [type(e).__name__ for e in n.collect_events()]


def test_one_key_one_notification() -> None:
    n = requested("k")
    assert n.id == notification_id_of("k") != notification_id_of("k2")
    assert names(n) == ["Requested"]


def test_in_app_then_acknowledged_once() -> None:
    n = requested()
    n.collect_events()
    n.deliver_in_app(T0 + 0.1)
    n.deliver_in_app(T0 + 0.2)
    n.acknowledge(T0 + 0.5)
    n.acknowledge(T0 + 0.6)
    assert names(n) == ["DeliveredInApp", "Acknowledged"]
    assert n.status is NotificationStatus.ACKNOWLEDGED and n.settled


def test_pushed_after_attempts_and_an_ack_after_that_changes_nothing() -> None:
    n = requested()
    n.collect_events()
    assert n.begin_push(T0 + 2)
    device = uuid4()
    n.record_attempt(device, "fcm", "retry", "503 UNAVAILABLE" * 100, T0 + 2)
    n.record_attempt(device, "fcm", "sent", "projects/p/messages/1", T0 + 2.2)
    n.finish_push(True, T0 + 2.2)
    n.acknowledge(T0 + 3)
    n.finish_push(False, T0 + 4)
    events = n.collect_events()
    assert [type(e).__name__ for e in events] == [
        "PushStarted",
        "PushAttempted",
        "PushAttempted",
        "Pushed",
    ]
    assert len(events[1].response) == 500  # type: ignore[attr-defined]
    assert n.attempts == 2 and n.status is NotificationStatus.PUSHED


def test_muting_and_calls_while_taking_calls() -> None:
    import pytest

    from domains.notification.aggregate import CannotMuteCallsError, Preferences

    prefs = Preferences(user_id=uuid4())
    prefs.mute(NotificationKind.LOW_BALANCE, takes_calls=True)
    prefs.mute(NotificationKind.LOW_BALANCE, takes_calls=True)
    with pytest.raises(CannotMuteCallsError):
        prefs.mute(NotificationKind.INCOMING_CALL, takes_calls=True)
    prefs.mute(NotificationKind.INCOMING_CALL, takes_calls=False)
    prefs.unmute(NotificationKind.LOW_BALANCE)
    prefs.unmute(NotificationKind.LOW_BALANCE)
    assert [type(e).__name__ for e in prefs.collect_events()] == [
        "Started",
        "Muted",
        "Muted",
        "Unmuted",
    ]
    assert prefs.muted == {NotificationKind.INCOMING_CALL}


def test_withdrawn_before_a_push_is_never_pushed() -> None:
    n = requested()
    n.collect_events()
    assert n.withdraw(T0 + 1) is False  # nothing reached a device: nothing to dismiss
    assert n.begin_push(T0 + 2) is False
    n.acknowledge(T0 + 3)
    assert names(n) == ["Withdrawn"]
    assert n.status is NotificationStatus.WITHDRAWN and n.settled


def test_withdrawn_after_the_push_began_asks_for_a_dismissal() -> None:
    n = requested()
    n.collect_events()
    assert n.begin_push(T0 + 2)
    assert n.withdraw(T0 + 2.1) is True  # the devices may be ringing
    n.finish_push(True, T0 + 2.2)
    assert n.withdraw(T0 + 3) is True  # asking again (a replayed policy) answers the same
    assert names(n) == ["PushStarted", "Pushed"]


def test_a_claimed_push_is_claimed_again_only_to_resume_it() -> None:
    n = requested()
    n.collect_events()
    assert n.begin_push(T0 + 2)
    assert n.begin_push(T0 + 2.5) is False  # a second alarm of the same worker
    assert n.begin_push(T0 + 9, resume=True)  # a new worker after a crash
    n.finish_push(True, T0 + 9.1)
    assert n.begin_push(T0 + 10, resume=True) is False
    events = n.collect_events()
    assert [(type(e).__name__, getattr(e, "round", None)) for e in events] == [
        ("PushStarted", 1),
        ("PushStarted", 2),
        ("Pushed", None),
    ]


def test_push_only_kinds_ignore_in_app_and_cannot_be_muted() -> None:
    import pytest

    from domains.notification.aggregate import CannotMuteError, Preferences

    n = Notification(
        key="call/1/ringing_ended",
        recipient_id=uuid4(),
        kind=NotificationKind.RINGING_ENDED,
        payload={"callId": "1", "reason": "answered"},
        at=T0,
        ack_deadline=T0,
        skip_device_id=uuid4(),
    )
    n.collect_events()
    n.deliver_in_app(T0)
    n.acknowledge(T0)  # an ACK must not keep the dismissal from the ringing devices
    assert n.status is NotificationStatus.REQUESTED and names(n) == []
    with pytest.raises(CannotMuteError):
        Preferences(user_id=uuid4()).mute(NotificationKind.RINGING_ENDED, takes_calls=False)
