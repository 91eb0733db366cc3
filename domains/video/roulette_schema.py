"""GraphQL for the roulette: start a search for any available streamer, cancel it."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry.types import Info

from domains.blocklist.schema import Suspended
from domains.video.aggregate import Call
from domains.video.results import (
    VIDEO_ERRORS,
    CalleeUnavailable,
    CallNotPossible,
    InsufficientFunds,
    NoStreamerAvailable,
)
from domains.video.roulette import Roulette
from domains.video.schema import CallView, call_view
from domains.video.services import VideoServices
from eventlog.api import Context, InvalidInput, NotFound, RateLimited, parse_uuid, result_of


@strawberry.type(
    description="Your roulette: searching (its offer is ringing), matched, cancelled or "
    "exhausted. Later offers, the match and exhaustion arrive on `callEvents`."
)
class RouletteView:
    id: strawberry.ID
    status: str
    call: CallView | None = strawberry.field(description="The offer ringing now, if any.")


StartRouletteResult = Annotated[
    RouletteView
    | NoStreamerAvailable
    | InsufficientFunds
    | CalleeUnavailable
    | Suspended
    | RateLimited,
    strawberry.union("StartRouletteResult"),
]
CancelRouletteResult = Annotated[
    RouletteView | CallNotPossible | InvalidInput | NotFound,
    strawberry.union("CancelRouletteResult"),
]


def roulette_view(session: tuple[Roulette, Call | None]) -> RouletteView:
    roulette, call = session
    return RouletteView(
        id=strawberry.ID(str(roulette.id)),
        status=roulette.status.value,
        call=call_view(call) if call is not None else None,
    )


@strawberry.type
class RouletteMutation:
    @strawberry.mutation(
        description="Be offered a random available streamer; each offer rings briefly, and "
        "a decline or timeout moves on to the next. The roulette tariff applies."
    )
    async def start_roulette(self, info: Info[Context[VideoServices], None]) -> StartRouletteResult:
        viewer = await info.context.viewer()
        if limited := await info.context.rate_limited("startRoulette"):
            return limited
        starting = info.context.services.roulette.start(viewer.user_id)
        return await result_of(starting, roulette_view, VIDEO_ERRORS)

    @strawberry.mutation(description="Stop your roulette; an offer still ringing is cancelled.")
    async def cancel_roulette(
        self, info: Info[Context[VideoServices], None], roulette_id: str
    ) -> CancelRouletteResult:
        viewer = await info.context.viewer()
        parsed = parse_uuid(roulette_id, "rouletteId", "roulette id")
        if isinstance(parsed, InvalidInput):
            return parsed
        service = info.context.services.roulette
        return await result_of(service.cancel(viewer.user_id, parsed), roulette_view, VIDEO_ERRORS)
