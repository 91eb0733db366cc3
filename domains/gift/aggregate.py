"""Gifts: the catalog (one aggregate per gift, editable by operators) and each gift sent (one
aggregate per sender and idempotency key, so a retried send is the same send).

`GiftSend.Sent` is the gift-sent event other domains react to (chat shows it in the
conversation, notification tells the streamer): it carries everything they need.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

NAMESPACE = uuid5(NAMESPACE_URL, "https://olo.app/gift")

NAME_MAX_CHARS = 60
CODE_MAX_CHARS = 40
IMAGE_URL_MAX_CHARS = 500
KEY_MAX_CHARS = 100


class GiftError(Exception):
    """A gift rule was broken."""


class InvalidGiftError(GiftError):
    """A catalog entry that cannot be sold; `field` names the bad part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownGiftError(GiftError):
    """No such gift in the catalog."""


class GiftInactiveError(GiftError):
    """The gift is no longer on sale."""


class SelfGiftError(GiftError):
    def __init__(self) -> None:
        super().__init__("you cannot send a gift to yourself")


class NotAStreamerError(GiftError):
    """Gifts go to streamers only."""


class GiftBlockedError(GiftError):
    """One of the two has blocked the other."""


class CallNotOngoingError(GiftError):
    """The call is not the sender's with this streamer, or it is not connected."""


class KeyReusedError(GiftError):
    """The sender used this idempotency key for another gift or recipient."""


def gift_id_of(code: str) -> UUID:
    """A catalog gift's id, from its code (a second gift with one code is the same gift)."""
    return uuid5(NAMESPACE, f"gift:{code}")


def send_id_of(sender_id: UUID, key: str) -> UUID:
    """One send per sender and idempotency key."""
    return uuid5(NAMESPACE, f"send:{sender_id}:{key}")


def check_price(coins: int) -> None:
    if not isinstance(coins, int) or isinstance(coins, bool) or coins <= 0:
        raise InvalidGiftError("price", f"a gift costs a positive number of coins, not {coins!r}")


def check_share(percent: int) -> None:
    if not isinstance(percent, int) or isinstance(percent, bool) or not 0 <= percent <= 100:
        raise InvalidGiftError("streamerShare", f"the share is 0 to 100 percent, not {percent!r}")


def split(price: int, share_percent: int) -> tuple[int, int]:
    """The streamer's and the platform's coins of a gift: the streamer's share is rounded
    down, so the platform gets the remainder (a 33 % share of 10 coins: 3 and 7); the two
    always add up to the price."""
    check_price(price)
    check_share(share_percent)
    streamer = price * share_percent // 100
    return streamer, price - streamer


class Gift(Aggregate):
    """A gift of the catalog: its name, price in coins, the streamer's share (percent) and
    picture; sold while active."""

    TOPIC = "olo.gift:Gift"

    class Created(Aggregate.Created):
        TOPIC = "olo.gift:Gift.Created"

    class Listed(Created):
        TOPIC = "olo.gift:Gift.Listed"
        code: str
        name: str
        price: int
        streamer_share: int
        image_url: str

    @event(Listed)
    def __init__(
        self, code: str, name: str, price: int, streamer_share: int, image_url: str
    ) -> None:
        self.code = code
        self.name = name
        self.price = price
        self.streamer_share = streamer_share
        self.image_url = image_url
        self.active = True

    @staticmethod
    def create_id(code: str) -> UUID:
        return gift_id_of(code)

    @classmethod
    def put_on_sale(
        cls, code: str, name: str, price: int, streamer_share: int, image_url: str
    ) -> Gift:
        check_price(price)
        check_share(streamer_share)
        return cls(
            code=code, name=name, price=price, streamer_share=streamer_share, image_url=image_url
        )

    def update(self, name: str, price: int, streamer_share: int, image_url: str) -> bool:
        """Change what the gift is and costs; False (nothing emitted) if nothing changes."""
        check_price(price)
        check_share(streamer_share)
        if (name, price, streamer_share, image_url) == (
            self.name,
            self.price,
            self.streamer_share,
            self.image_url,
        ):
            return False
        self._updated(name, price, streamer_share, image_url)
        return True

    class Updated(Aggregate.Event):
        TOPIC = "olo.gift:Gift.Updated"
        name: str
        price: int
        streamer_share: int
        image_url: str

    @event(Updated)
    def _updated(self, name: str, price: int, streamer_share: int, image_url: str) -> None:
        self.name = name
        self.price = price
        self.streamer_share = streamer_share
        self.image_url = image_url

    def set_active(self, active: bool) -> None:
        if active and not self.active:
            self._activated()
        elif not active and self.active:
            self._deactivated()

    class Deactivated(Aggregate.Event):
        TOPIC = "olo.gift:Gift.Deactivated"

    @event(Deactivated)
    def _deactivated(self) -> None:
        self.active = False

    class Activated(Aggregate.Event):
        TOPIC = "olo.gift:Gift.Activated"

    @event(Activated)
    def _activated(self) -> None:
        self.active = True

    def check_on_sale(self) -> None:
        if not self.active:
            raise GiftInactiveError(f"the gift {self.name!r} is no longer available")

    def split(self) -> tuple[int, int]:
        return split(self.price, self.streamer_share)


class GiftSend(Aggregate):
    """One gift sent: who to whom, what, for how many coins, in which call. Created once per
    (sender, idempotency key): the same key sent again finds it and moves nothing."""

    TOPIC = "olo.gift:GiftSend"
    CACHED = False  # written once, read again only when its key comes back

    class Created(Aggregate.Created):
        TOPIC = "olo.gift:GiftSend.Created"

    class Sent(Created):
        """The gift-sent event (TOPIC below): what chat, notification and interaction read."""

        TOPIC = "olo.gift:GiftSend.Sent"
        key: str
        sender_id: UUID
        recipient_id: UUID
        gift_id: UUID
        name: str
        image_url: str
        coins: int  # the price the sender paid
        streamer_coins: int  # the recipient's share (the platform kept the rest)
        call_id: UUID | None  # the connected call it was sent in
        sender_balance: int  # the sender's wallet after paying: what a replay answers
        at: float

    @event(Sent)
    def __init__(
        self,
        key: str,
        sender_id: UUID,
        recipient_id: UUID,
        gift_id: UUID,
        name: str,
        image_url: str,
        coins: int,
        streamer_coins: int,
        call_id: UUID | None,
        sender_balance: int,
        at: float,
    ) -> None:
        self.key = key
        self.sender_id = sender_id
        self.recipient_id = recipient_id
        self.gift_id = gift_id
        self.name = name
        self.image_url = image_url
        self.coins = coins
        self.streamer_coins = streamer_coins
        self.call_id = call_id
        self.sender_balance = sender_balance
        self.at = at

    @staticmethod
    def create_id(key: str, sender_id: UUID) -> UUID:
        return send_id_of(sender_id, key)

    def check_same(self, recipient_id: UUID, gift_id: UUID, call_id: UUID | None) -> None:
        if (self.recipient_id, self.gift_id, self.call_id) != (recipient_id, gift_id, call_id):
            raise KeyReusedError("this idempotencyKey was already used for another gift")


# The seeded catalog: (code, name, price in coins, streamer's share in percent, image).
SEED_CATALOG = (
    ("rose", "Rose", 10, 50, "https://cdn.olo.app/gifts/rose.png"),
    ("heart", "Heart", 30, 50, "https://cdn.olo.app/gifts/heart.png"),
    ("teddy", "Teddy bear", 100, 60, "https://cdn.olo.app/gifts/teddy.png"),
    ("diamond", "Diamond", 500, 70, "https://cdn.olo.app/gifts/diamond.png"),
)
