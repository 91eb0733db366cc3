"""What a roulette caller learns on `callEvents` beyond the calls themselves: the session
found its match, or ran out of streamers to offer. Each offer's ringing, declining and
missing already reach the caller as that call's own events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domains.video.changes import CallChanged
from domains.video.projection import CALLS_CHANNEL
from domains.video.roulette import Roulette
from eventlog.database import Connection, SchemaConnection
from eventlog.projection import Recorded


class RouletteProjection:
    """No table: each Matched / Exhausted becomes a callEvents item for the caller.

    `rouletteMatched` carries the answered call's id; `rouletteExhausted` carries the
    roulette's own id (there is no call to name) and the reason."""

    name = "video.roulette_events"
    topics = frozenset({Roulette.Matched.TOPIC, Roulette.Exhausted.TOPIC})

    async def create_tables(self, conn: SchemaConnection) -> None:
        return None

    async def clear(self, conn: Connection) -> None:
        return None

    async def apply(
        self, conn: Connection, events: Sequence[Recorded]
    ) -> dict[str, list[tuple[str, Any]]]:
        items: list[tuple[str, Any]] = []
        for recorded in events:
            e, position = recorded.event, recorded.position
            match e:
                case Roulette.Matched():
                    item = CallChanged("rouletteMatched", str(e.call_id), e.at, position)
                case Roulette.Exhausted():
                    item = CallChanged(
                        "rouletteExhausted", str(e.originator_id), e.at, position, reason=e.reason
                    )
            items.append((str(e.caller_id), item.to_json()))
        return {CALLS_CHANNEL: items}
