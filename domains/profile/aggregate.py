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

    @event("Registered", topic="olo.profile:User.Registered")
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

    @event("ProfileUpdated", topic="olo.profile:User.ProfileUpdated")
    def _updated(self, public: dict[str, Any], private: dict[str, Any]) -> None:
        self.public.update(public)
        self.private.update(private)

    def change_role(self, role: Role) -> None:
        if Role(role) != self.role:
            self._role_changed(Role(role))

    @event("RoleChanged", topic="olo.profile:User.RoleChanged")
    def _role_changed(self, role: Role) -> None:
        self.role = Role(role)
