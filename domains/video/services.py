"""The video domain's services and queries as one typed record: what its resolvers, higher
domains, tests and tools reach it by (`services.calls`)."""

from __future__ import annotations

from dataclasses import dataclass

from domains.video.access import MediaAccess
from domains.video.presence import Presence
from domains.video.queries import CallQueries
from domains.video.roulette import RouletteService
from domains.video.service import CallService
from eventlog.settings import Settings


@dataclass(frozen=True)
class VideoServices:
    calls: CallService
    roulette: RouletteService
    call_queries: CallQueries
    presence: Presence
    media: MediaAccess
    settings: Settings
