"""The notification domain's services and queries as one typed record: what its resolvers, higher
domains, tests and tools reach it by (`services.notifications`)."""

from __future__ import annotations

from dataclasses import dataclass

from domains.notification.service import NotificationService
from domains.video.presence import Presence


@dataclass(frozen=True)
class NotificationServices:
    notifications: NotificationService
    presence: Presence
