"""Commands on the gift catalog: list a gift, edit it, take it off sale (operators call these;
mission control will), and the idempotent seed."""

from __future__ import annotations

from uuid import UUID

from domains.gift.aggregate import (
    CODE_MAX_CHARS,
    IMAGE_URL_MAX_CHARS,
    NAME_MAX_CHARS,
    SEED_CATALOG,
    Gift,
    InvalidGiftError,
    UnknownGiftError,
    gift_id_of,
)
from eventlog import text
from eventlog.store import AggregateStore, Transaction


def _checked(name: str, image_url: str) -> tuple[str, str]:
    return (
        text.name(name, "name", NAME_MAX_CHARS),
        text.https_url(image_url, "image_url", IMAGE_URL_MAX_CHARS),
    )


async def _gift(tx: Transaction, gift_id: UUID) -> Gift:
    try:
        gift = await tx.get(gift_id, Gift)
    except TypeError:  # the id of something else
        gift = None
    if gift is None:
        raise UnknownGiftError(f"no gift {gift_id}")
    return gift


class GiftCatalogService:
    """The catalog's commands."""

    def __init__(self, store: AggregateStore) -> None:
        self.store = store

    async def create(
        self, code: str, *, name: str, price: int, streamer_share: int, image_url: str
    ) -> Gift:
        """List a new gift under a code of its own (InvalidGiftError if the code is taken)."""
        code = text.token(code, "code", CODE_MAX_CHARS)
        name, image_url = _checked(name, image_url)

        async def command(tx: Transaction) -> Gift:
            if await tx.get(gift_id_of(code), Gift) is not None:
                raise InvalidGiftError("code", f"there is a gift {code!r} already")
            gift = Gift.put_on_sale(code, name, price, streamer_share, image_url)
            tx.add(gift)
            return gift

        return await self.store.transact(command)

    async def update(
        self, gift_id: UUID, *, name: str, price: int, streamer_share: int, image_url: str
    ) -> Gift:
        """Change a gift's name, price, share or picture (gifts already sent keep theirs)."""
        name, image_url = _checked(name, image_url)

        async def command(tx: Transaction) -> Gift:
            gift = await _gift(tx, gift_id)
            gift.update(name, price, streamer_share, image_url)
            return gift

        return await self.store.transact(command)

    async def set_active(self, gift_id: UUID, active: bool) -> Gift:
        """Put a gift on sale again, or take it off sale (deactivate)."""

        async def command(tx: Transaction) -> Gift:
            gift = await _gift(tx, gift_id)
            gift.set_active(active)
            return gift

        return await self.store.transact(command)

    async def ensure_seeded(self) -> None:
        """List every seed gift not listed yet; operators' edits of listed ones are kept."""
        for code, name, price, share, image_url in SEED_CATALOG:

            async def command(
                tx: Transaction,
                code: str = code,
                name: str = name,
                price: int = price,
                share: int = share,
                image_url: str = image_url,
            ) -> None:
                if await tx.get(gift_id_of(code), Gift) is None:
                    tx.add(Gift.put_on_sale(code, name, price, share, image_url))

            await self.store.transact(command)
