"""Reactions of calls to the log: a block ends the call between the two; a call the server
ended has both parties removed from the Agora channel."""

from __future__ import annotations

import logging
from typing import Any

from domains.balance.aggregate import Account, AccountKind
from domains.blocklist.aggregate import Block
from domains.video.aggregate import SERVER_ENDED, Call, EndReason, Side
from domains.video.agora import AgoraRest, AgoraRestError, channel_of, uid_for
from domains.video.lines import Line, line_id_of
from domains.video.service import CallService

log = logging.getLogger(__name__)


class BlockEndsCallPolicy:
    """A block ends an open call between the two at once (reason `blocked`)."""

    name = "video.block_ends_call"
    topics = frozenset({Block.Blocked.TOPIC})

    def __init__(self, calls: CallService) -> None:
        self.calls = calls

    async def handle(self, event: Any, position: int) -> None:
        lines = [
            await self.calls.store.load(line_id_of(u), fresh=True)
            for u in (event.blocker_id, event.blocked_id)
        ]
        if not all(isinstance(line, Line) for line in lines):
            return
        first, second = lines
        assert isinstance(first, Line) and isinstance(second, Line)
        if first.call_id is not None and first.call_id == second.call_id:
            await self.calls.end_call(first.call_id, EndReason.BLOCKED)


class SpendWarnsCallerPolicy:
    """A caller who spends coins elsewhere during a call (a gift, chat) is warned at once when
    what is left no longer covers the call's next checkpoint (the meter warns only after its
    own charges)."""

    name = "video.spend_warns_caller"
    topics = frozenset({Account.Debited.TOPIC})

    def __init__(self, calls: CallService) -> None:
        self.calls = calls

    async def handle(self, event: Any, position: int) -> None:
        if event.reason == "call":
            return  # the call's own charges: the meter warned in the same command
        account = await self.calls.store.load(event.originator_id)
        if not isinstance(account, Account) or account.kind is not AccountKind.WALLET:
            return
        line = await self.calls.store.load(line_id_of(account.owner_id), fresh=True)
        if not isinstance(line, Line) or line.call_id is None:
            return
        call = await self.calls.store.load(line.call_id, fresh=True)
        if isinstance(call, Call) and call.caller_id == account.owner_id:
            await self.calls.warn_if_short(call.id)


class KickPolicy:
    """When the server ends a call (funds, block, operator, timeout) both parties are removed
    from the channel. If Agora cannot be reached the tokens still expire with paid time."""

    name = "video.kick"
    topics = frozenset({Call.Ended.TOPIC})

    def __init__(self, agora: AgoraRest, kick_seconds: int) -> None:
        self.agora = agora
        self.kick_seconds = kick_seconds

    async def handle(self, event: Any, position: int) -> None:
        if EndReason(event.reason) not in SERVER_ENDED:
            return
        channel = channel_of(event.originator_id)
        for side in (Side.CALLER, Side.STREAMER):
            try:
                await self.agora.kick(channel, uid_for(side), self.kick_seconds)
            except AgoraRestError:
                log.warning("could not remove %s from %s", side.value, channel, exc_info=True)
