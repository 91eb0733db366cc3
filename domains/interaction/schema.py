"""GraphQL for interactions: `interaction(userId)`, the app's "you and X" screen, always from
the viewer's side (the viewer is one of the pair by construction: there is no way to ask for
someone else's pair)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from domains.interaction.queries import Interaction
from domains.interaction.services import InteractionServices
from domains.profile.service import UserNotFoundError
from eventlog.api import Context, InvalidInput, NotFound, parse_uuid, shown

Ctx = Info[Context[InteractionServices], None]


@strawberry.type(description="Coins, split by what they paid for.")
class InteractionCoins:
    calls: int
    gifts: int
    total: int


@strawberry.type(
    description="You and another user: calls (connected ones), their connected time, coins"
    " each of you spent on the other, what you earned from them, gifts and messages each way,"
    " first and last contact (null: you never met; every count is then 0)."
)
class InteractionView:
    user_id: strawberry.ID = strawberry.field(description="The other user.")
    calls: int
    direct_calls: int
    roulette_calls: int
    direct_seconds: int
    roulette_seconds: int
    direct_minutes: float
    roulette_minutes: float
    paid_calls: int
    you_spent: InteractionCoins = strawberry.field(description="What you spent on them.")
    they_spent: InteractionCoins = strawberry.field(description="What they spent on you.")
    you_earned: InteractionCoins = strawberry.field(description="What you earned from them.")
    gifts_sent: int
    gifts_received: int
    messages_sent: int
    messages_received: int
    first_contact_at: datetime | None
    last_contact_at: datetime | None


InteractionResult = Annotated[
    InteractionView | InvalidInput | NotFound, strawberry.union("InteractionResult")
]


def _minutes(seconds: int) -> float:
    return round(seconds / 60, 2)


def interaction_view(i: Interaction) -> InteractionView:
    return InteractionView(
        user_id=strawberry.ID(str(i.peer_id)),
        calls=i.calls,
        direct_calls=i.direct_calls,
        roulette_calls=i.roulette_calls,
        direct_seconds=i.direct_seconds,
        roulette_seconds=i.roulette_seconds,
        direct_minutes=_minutes(i.direct_seconds),
        roulette_minutes=_minutes(i.roulette_seconds),
        paid_calls=i.paid_calls,
        you_spent=InteractionCoins(
            calls=i.call_coins_you_spent, gifts=i.gift_coins_you_spent, total=i.coins_you_spent
        ),
        they_spent=InteractionCoins(
            calls=i.call_coins_they_spent,
            gifts=i.gift_coins_they_spent,
            total=i.coins_they_spent,
        ),
        you_earned=InteractionCoins(
            calls=i.call_coins_you_earned,
            gifts=i.gift_coins_you_earned,
            total=i.coins_you_earned,
        ),
        gifts_sent=i.gifts_sent,
        gifts_received=i.gifts_received,
        messages_sent=i.messages_sent,
        messages_received=i.messages_received,
        first_contact_at=i.first_contact,
        last_contact_at=i.last_contact,
    )


@strawberry.type
class InteractionQuery:
    @strawberry.field(description="You and this user: your history together, from your side.")
    async def interaction(self, info: Ctx, user_id: str) -> InteractionResult:
        viewer = await info.context.viewer()
        peer = parse_uuid(
            user_id, "userId", "user id", message=f"userId {shown(user_id)} is not a user id"
        )
        if isinstance(peer, InvalidInput):
            return peer
        if peer == viewer.user_id:
            return InvalidInput(message="that is you: pick another user", field="userId")
        services = info.context.services
        try:
            await services.profiles.user(peer)
        except UserNotFoundError:
            return NotFound(message=f"there is no user {peer}")
        return interaction_view(await services.interactions.pair(viewer.user_id, peer))
