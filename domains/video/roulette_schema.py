"""GraphQL for the roulette: start a search for any available streamer, cancel it."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry
from strawberry.types import Info

from domains.balance.aggregate import InsufficientFundsError
from domains.video.aggregate import Call
from domains.video.roulette import (
    NoStreamerAvailableError,
    Roulette,
    RouletteService,
    RouletteStateError,
    UnknownRouletteError,
)
from domains.video.schema import (
    CalleeUnavailable,
    CallNotPossible,
    CallView,
    InsufficientFunds,
    call_view,
)
from domains.video.service import CallerBusyError
from eventlog.api import Context, InvalidInput, NotFound


@strawberry.type(
    description="Your roulette: searching (its offer is ringing), matched, cancelled or "
    "exhausted. Later offers, the match and exhaustion arrive on `callEvents`."
)
class RouletteView:
    id: strawberry.ID
    status: str
    call: CallView | None = strawberry.field(description="The offer ringing now, if any.")


@strawberry.type(description="No streamer can be offered to you now; try again later.")
class NoStreamerAvailable:
    message: str


StartRouletteResult = Annotated[
    RouletteView | NoStreamerAvailable | InsufficientFunds | CalleeUnavailable,
    strawberry.union("StartRouletteResult"),
]
CancelRouletteResult = Annotated[
    RouletteView | CallNotPossible | InvalidInput | NotFound,
    strawberry.union("CancelRouletteResult"),
]


def roulette_view(roulette: Roulette, call: Call | None) -> RouletteView:
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
    async def start_roulette(self, info: Info[Context, None]) -> StartRouletteResult:
        viewer = await info.context.viewer()
        try:
            roulette, call = await info.context.get(RouletteService).start(viewer.user_id)
        except NoStreamerAvailableError as error:
            return NoStreamerAvailable(message=str(error))
        except InsufficientFundsError as error:
            return InsufficientFunds(message=str(error), coins=error.coins, needed=error.needed)
        except CallerBusyError as error:
            return CalleeUnavailable(message=str(error))
        return roulette_view(roulette, call)

    @strawberry.mutation(description="Stop your roulette; an offer still ringing is cancelled.")
    async def cancel_roulette(
        self, info: Info[Context, None], roulette_id: str
    ) -> CancelRouletteResult:
        viewer = await info.context.viewer()
        try:
            parsed = UUID(roulette_id)
        except ValueError:
            return InvalidInput(message=f"{roulette_id!r} is not a roulette id", field="rouletteId")
        service = info.context.get(RouletteService)
        try:
            roulette = await service.cancel(viewer.user_id, parsed)
        except UnknownRouletteError as error:
            return NotFound(message=str(error))
        except RouletteStateError as error:
            return CallNotPossible(message=str(error))
        call = None
        if roulette.call_id is not None:
            loaded = await service.store.load(roulette.call_id, fresh=True)
            call = loaded if isinstance(loaded, Call) else None
        return roulette_view(roulette, call)
