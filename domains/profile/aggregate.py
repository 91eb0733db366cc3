"""Users of olo: registered from their Firebase identity, with public and private fields."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = uuid5(NAMESPACE_URL, "https://olo.app/profile")

PUBLIC_FIELDS = {"display_name": 40, "bio": 500, "avatar_url": 500, "country": 2}
PRIVATE_FIELDS = {"email": 254, "phone": 32, "birth_date": 10}


class Role(StrEnum):
    USER = "user"
    STREAMER = "streamer"


class ProfileError(Exception):
    """A profile rule was broken."""


class InvalidProfileError(ProfileError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@lru_cache(maxsize=100_000)
def user_id_of(firebase_uid: str) -> UUID:
    return uuid5(NAMESPACE, f"firebase:{firebase_uid}")


def check_fields(changes: dict[str, Any], allowed: dict[str, int]) -> None:
    for field, value in changes.items():
        if field not in allowed:
            raise InvalidProfileError(field, "is not a profile field")
        if value is None:
            continue
        if not isinstance(value, str):
            raise InvalidProfileError(field, "must be text")
        if len(value) > allowed[field]:
            raise InvalidProfileError(field, f"must be at most {allowed[field]} characters")
        if field == "display_name" and not value.strip():
            raise InvalidProfileError(field, "must not be blank")
        if field == "country" and value and not (len(value) == 2 and value.isalpha()):
            raise InvalidProfileError(field, "must be a two-letter country code")


class User(Aggregate):
    """A person using olo; private fields are only ever shown to them and to operators."""

    TOPIC = "olo.profile:User"

    class Created(Aggregate.Created):
        TOPIC = "olo.profile:User.Created"

    class Registered(Created):
        TOPIC = "olo.profile:User.Registered"
        firebase_uid: str
        display_name: str
        email: str | None

    @event(Registered)
    def __init__(self, firebase_uid: str, display_name: str, email: str | None) -> None:
        self.firebase_uid = firebase_uid
        self.role = Role.USER
        self.public: dict[str, Any] = {"display_name": display_name}
        self.private: dict[str, Any] = {"email": email} if email else {}

    @staticmethod
    def create_id(firebase_uid: str) -> UUID:
        return user_id_of(firebase_uid)

    def update(self, public: dict[str, Any], private: dict[str, Any]) -> None:
        check_fields(public, PUBLIC_FIELDS)
        check_fields(private, PRIVATE_FIELDS)
        public = {k: v for k, v in public.items() if self.public.get(k) != v}
        private = {k: v for k, v in private.items() if self.private.get(k) != v}
        if public or private:
            self._updated(public, private)

    class ProfileUpdated(Aggregate.Event):
        TOPIC = "olo.profile:User.ProfileUpdated"
        public: dict[str, Any]  # only the fields that changed
        private: dict[str, Any]

    @event(ProfileUpdated)
    def _updated(self, public: dict[str, Any], private: dict[str, Any]) -> None:
        self.public.update(public)
        self.private.update(private)

    def change_role(self, role: Role) -> None:
        if Role(role) != self.role:
            self._role_changed(Role(role))

    class RoleChanged(Aggregate.Event):
        TOPIC = "olo.profile:User.RoleChanged"
        role: str  # a Role's value

    @event(RoleChanged)
    def _role_changed(self, role: Role) -> None:
        self.role = Role(role)


class Platform(StrEnum):
    IOS = "ios"
    ANDROID = "android"
    WEB = "web"


TOKEN_LIMIT = 4096  # FCM tokens are ~160 characters, APNs tokens 64; anything longer is junk
APP_VERSION_LIMIT = 32


def device_id_of(platform: Platform, push_key: str) -> UUID:
    """A device is known by its platform and its first push address (FCM token, else the
    OneSignal subscription, else the VoIP token): re-registering it finds the same device,
    and the same address registered by another user moves the device to them."""
    return uuid5(NAMESPACE, f"device:{Platform(platform).value}:{push_key}")


# The address each push provider sends to; a VoIP token only rides along with one of them.
PUSH_ADDRESSES = {"fcm": "fcm_token", "onesignal": "onesignal_id"}


def check_device(
    platform: str,
    tokens: dict[str, str | None],
    app_version: str,
    providers: frozenset[str] = frozenset(),
) -> tuple[Platform, str]:
    """The platform and the device's key; InvalidProfileError for bad input, or for a device
    no push can reach: one without an FCM token or OneSignal id, or (when `providers` are
    configured) without the address of any of them."""
    try:
        checked = Platform(platform)
    except ValueError:
        raise InvalidProfileError("platform", "must be ios, android or web") from None
    for field, token in tokens.items():
        if token is not None and (not token.strip() or len(token) > TOKEN_LIMIT):
            raise InvalidProfileError(field, f"must be 1 to {TOKEN_LIMIT} characters")
    if len(app_version) > APP_VERSION_LIMIT:
        raise InvalidProfileError("app_version", f"must be at most {APP_VERSION_LIMIT} characters")
    key = next((t for t in tokens.values() if t), None)
    if key is None:
        raise InvalidProfileError("fcm_token", "a device needs at least one push token")
    if checked is not Platform.IOS and tokens.get("voip_token"):
        raise InvalidProfileError("voip_token", "VoIP tokens are for iOS devices")
    if not (tokens.get("fcm_token") or tokens.get("onesignal_id")):
        raise InvalidProfileError(
            "fcm_token",
            "a device needs an fcmToken or a onesignalId (a voipToken alone is never pushed)",
        )
    wanted = [PUSH_ADDRESSES[p] for p in sorted(providers) if p in PUSH_ADDRESSES]
    if wanted and not any(tokens.get(field) for field in wanted):
        names = " or ".join(to_camel(field) for field in wanted)
        raise InvalidProfileError(wanted[0], f"pushes go out through {names} here: send one")
    return checked, key


def to_camel(field: str) -> str:
    head, *rest = field.split("_")
    return head + "".join(part.capitalize() for part in rest)


class Device(Aggregate):
    """A phone or browser that can be reached by push, and whose user it currently is."""

    TOPIC = "olo.profile:Device"

    class Created(Aggregate.Created):
        TOPIC = "olo.profile:Device.Created"

    class Registered(Created):
        TOPIC = "olo.profile:Device.Registered"
        owner_id: UUID
        platform: str  # a Platform's value
        tokens: dict[str, str | None]  # fcm_token, onesignal_id, voip_token
        app_version: str

    @event(Registered)
    def __init__(
        self, owner_id: UUID, platform: Platform, tokens: dict[str, str | None], app_version: str
    ) -> None:
        self.owner_id = owner_id
        self.platform = Platform(platform)
        self.tokens = dict(tokens)
        self.app_version = app_version
        self.active = True

    @staticmethod
    def create_id(platform: Platform, tokens: dict[str, str | None]) -> UUID:
        return device_id_of(platform, next(t for t in tokens.values() if t))

    def register(self, owner_id: UUID, tokens: dict[str, str | None], app_version: str) -> None:
        """Registered again: maybe by another user (the device moves), maybe new tokens."""
        if (owner_id, tokens, app_version, True) != (
            self.owner_id,
            self.tokens,
            self.app_version,
            self.active,
        ):
            self._reregistered(owner_id, dict(tokens), app_version)

    class Reregistered(Aggregate.Event):
        TOPIC = "olo.profile:Device.Reregistered"
        owner_id: UUID
        tokens: dict[str, str | None]
        app_version: str

    @event(Reregistered)
    def _reregistered(
        self, owner_id: UUID, tokens: dict[str, str | None], app_version: str
    ) -> None:
        self.owner_id = owner_id
        self.tokens = tokens
        self.app_version = app_version
        self.active = True

    def unregister(self) -> None:
        if self.active:
            self._unregistered()

    class Unregistered(Aggregate.Event):
        TOPIC = "olo.profile:Device.Unregistered"

    @event(Unregistered)
    def _unregistered(self) -> None:
        self.active = False
