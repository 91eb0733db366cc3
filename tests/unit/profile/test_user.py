"""User: registration, public/private profile edits and roles, as the events they emit."""

from __future__ import annotations

from typing import Any

import pytest

from domains.profile.aggregate import InvalidProfileError, Role, User, check_device, user_id_of
from eventlog.application import EventLog


def emitted(aggregate: Any) -> list[Any]:
    return list(aggregate.collect_events())


def registered(uid: str = "firebase-ann", email: str | None = "ann@example.com") -> User:
    """Given: a registered user (the registration already saved)."""
    user = User(firebase_uid=uid, display_name="Ann", email=email)
    user.collect_events()
    return user


def test_registration_emits_registered_and_makes_a_plain_user() -> None:
    user = User(firebase_uid="firebase-ann", display_name="Ann", email="ann@example.com")

    [e] = emitted(user)
    assert type(e).TOPIC == "olo.profile:User.Registered"
    assert (e.firebase_uid, e.display_name, e.email) == ("firebase-ann", "Ann", "ann@example.com")
    assert user.id == user_id_of("firebase-ann")
    assert user.role == Role.USER
    assert (user.public, user.private) == ({"display_name": "Ann"}, {"email": "ann@example.com"})


def test_registration_without_email_has_no_private_fields() -> None:
    assert registered(email=None).private == {}


def test_the_firebase_uid_decides_the_user_id() -> None:
    assert registered("a").id == registered("a").id != registered("b").id


def test_update_emits_only_the_fields_that_changed() -> None:
    user = registered()

    user.update(
        {"display_name": "Ann", "bio": "hi", "country": "DE"},
        {"email": "ann@example.com", "phone": "+49 1"},
    )

    [e] = emitted(user)
    assert type(e).TOPIC == "olo.profile:User.ProfileUpdated"
    assert (e.public, e.private) == ({"bio": "hi", "country": "DE"}, {"phone": "+49 1"})
    assert user.public == {"display_name": "Ann", "bio": "hi", "country": "DE"}
    assert user.private == {"email": "ann@example.com", "phone": "+49 1"}


def test_an_update_that_changes_nothing_emits_nothing() -> None:
    user = registered()
    user.update({"display_name": "Ann"}, {"email": "ann@example.com"})
    user.update({}, {})
    assert emitted(user) == []


def test_a_field_can_be_cleared() -> None:
    user = registered()
    user.update({"bio": "hi"}, {})
    user.collect_events()

    user.update({"bio": None}, {})

    assert [e.public for e in emitted(user)] == [{"bio": None}]
    assert user.public["bio"] is None


@pytest.mark.parametrize(
    ("public", "private", "field"),
    [
        ({"display_name": "x" * 41}, {}, "display_name"),
        ({"bio": "b" * 501}, {}, "bio"),
        ({}, {"email": "e" * 255}, "email"),
        ({"display_name": "   "}, {}, "display_name"),
        ({"display_name": ""}, {}, "display_name"),
        ({"nickname": "annie"}, {}, "nickname"),
        ({"email": "ann@example.com"}, {}, "email"),  # a private field is not public
        ({}, {"bio": "hi"}, "bio"),  # and a public one is not private
        ({"country": "DEU"}, {}, "country"),
        ({"country": "1A"}, {}, "country"),
        ({"display_name": 7}, {}, "display_name"),
    ],
)
def test_invalid_changes_are_refused_and_emit_nothing(
    public: dict[str, Any], private: dict[str, Any], field: str
) -> None:
    user = registered()

    with pytest.raises(InvalidProfileError) as refused:
        user.update({"bio": "kept back", **public}, private)

    assert refused.value.field == field
    assert emitted(user) == []
    assert user.public == {"display_name": "Ann"}
    assert user.private == {"email": "ann@example.com"}


def test_longest_allowed_values_are_accepted() -> None:
    user = registered()
    user.update({"display_name": "x" * 40, "country": "fr"}, {"email": "e" * 254})
    assert [type(e).TOPIC for e in emitted(user)] == ["olo.profile:User.ProfileUpdated"]


def test_becoming_a_streamer_emits_role_changed_once() -> None:
    user = registered()

    user.change_role(Role.STREAMER)
    user.change_role(Role.STREAMER)

    [e] = emitted(user)
    assert type(e).TOPIC == "olo.profile:User.RoleChanged"
    assert e.role == Role.STREAMER
    assert user.role == Role.STREAMER


def test_keeping_the_same_role_emits_nothing() -> None:
    user = registered()
    user.change_role(Role.USER)
    assert emitted(user) == []


def test_stored_events_keep_their_topics_and_rebuild_the_user() -> None:
    log = EventLog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    user = User(firebase_uid="firebase-bo", display_name="Bo", email=None)
    user.update({"bio": "streams at night"}, {"phone": "+1 555"})
    user.change_role(Role.STREAMER)

    log.save(user)

    assert [s.topic for s in log.recorder.select_events(user.id)] == [
        "olo.profile:User.Registered",
        "olo.profile:User.ProfileUpdated",
        "olo.profile:User.RoleChanged",
    ]
    copy: object = log.repository.get(user_id_of("firebase-bo"))
    assert isinstance(copy, User)
    assert copy.role == Role.STREAMER and isinstance(copy.role, Role)
    assert copy.public == {"display_name": "Bo", "bio": "streams at night"}
    assert copy.private == {"phone": "+1 555"}
    assert (copy.firebase_uid, copy.version) == ("firebase-bo", 3)


@pytest.mark.parametrize(
    ("platform", "tokens", "providers", "field"),
    [
        ("ios", {"voip_token": "v"}, frozenset(), "fcm_token"),  # no route pushes VoIP alone
        ("web", {"fcm_token": "f", "voip_token": "v"}, frozenset(), "voip_token"),
        ("android", {"fcm_token": "f", "voip_token": "v"}, frozenset(), "voip_token"),
        ("ios", {"onesignal_id": "o", "voip_token": "v"}, frozenset({"fcm"}), "fcm_token"),
        ("android", {"fcm_token": "f"}, frozenset({"onesignal"}), "onesignal_id"),
    ],
)
def test_a_device_no_configured_provider_can_push_is_refused(
    platform: str, tokens: dict[str, str], providers: frozenset[str], field: str
) -> None:
    with pytest.raises(InvalidProfileError) as refused:
        check_device(platform, dict(tokens), "1.0", providers)
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("platform", "tokens", "providers"),
    [
        ("ios", {"fcm_token": "f", "voip_token": "v"}, frozenset({"fcm"})),
        ("ios", {"onesignal_id": "o", "voip_token": "v"}, frozenset({"onesignal"})),
        ("web", {"fcm_token": "f"}, frozenset()),  # no provider configured: development
        ("android", {"fcm_token": "f", "onesignal_id": "o"}, frozenset({"onesignal"})),
    ],
)
def test_a_device_a_provider_can_push_is_accepted(
    platform: str, tokens: dict[str, str], providers: frozenset[str]
) -> None:
    checked, key = check_device(platform, dict(tokens), "1.0", providers)
    assert (checked.value, key) == (platform, next(iter(tokens.values())))
