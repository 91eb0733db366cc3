"""Reactions of the ledger to other domains' events."""

from __future__ import annotations

from typing import Any

from domains.balance.service import BalanceService
from domains.profile.aggregate import User


class WelcomeBonusPolicy:
    """A newly registered user gets the configured welcome coins from promotions, once."""

    name = "balance.welcome_bonus"
    topics = frozenset({User.Registered.TOPIC})

    def __init__(self, balance: BalanceService, coins: int) -> None:
        self.balance = balance
        self.coins = coins

    async def handle(self, event: Any, position: int) -> None:
        if self.coins > 0 and isinstance(event, User.Registered):
            await self.balance.grant(
                event.originator_id,
                self.coins,
                key=f"welcome/{event.originator_id}",
                memo="welcome bonus",
            )
