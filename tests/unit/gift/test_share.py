"""A gift's coins: the streamer's share is rounded down and the platform keeps the remainder,
so the two parts always add up to the price."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domains.gift.aggregate import Gift, InvalidGiftError, split


@pytest.mark.parametrize(
    ("price", "share", "streamer", "platform"),
    [
        (10, 50, 5, 5),
        (10, 33, 3, 7),  # 3.3 coins: the streamer gets 3, the platform the remainder 7
        (15, 50, 7, 8),  # 7.5: rounded down for the streamer
        (1, 99, 0, 1),
        (100, 100, 100, 0),
        (100, 0, 0, 100),
        (999, 70, 699, 300),  # 699.3
    ],
)
def test_the_streamer_share_is_rounded_down_and_the_platform_gets_the_rest(
    price: int, share: int, streamer: int, platform: int
) -> None:
    assert split(price, share) == (streamer, platform)


@given(st.integers(1, 10**9), st.integers(0, 100))
def test_the_parts_always_add_up_to_the_price(price: int, share: int) -> None:
    streamer, platform = split(price, share)
    assert streamer + platform == price
    assert 0 <= streamer <= price * share / 100 < streamer + 1


@pytest.mark.parametrize(
    ("price", "share", "field"),
    [(0, 50, "price"), (-5, 50, "price"), (10, 101, "streamerShare"), (10, -1, "streamerShare")],
)
def test_a_gift_that_cannot_be_sold_is_refused(price: int, share: int, field: str) -> None:
    with pytest.raises(InvalidGiftError) as refused:
        Gift.put_on_sale("x", "X", price, share, "https://cdn.olo.app/x.png")
    assert refused.value.field == field


def test_listing_editing_and_deactivating_a_gift_emit_its_events() -> None:
    gift = Gift.put_on_sale("rose", "Rose", 10, 50, "https://cdn.olo.app/rose.png")
    assert gift.update("Rose", 10, 50, "https://cdn.olo.app/rose.png") is False  # no change
    gift.update("Red rose", 12, 60, "https://cdn.olo.app/rose.png")
    gift.set_active(False)
    gift.set_active(False)  # already off sale: nothing
    gift.set_active(True)
    assert [type(e).TOPIC for e in gift.collect_events()] == [  # type: ignore[attr-defined]
        "olo.gift:Gift.Listed",
        "olo.gift:Gift.Updated",
        "olo.gift:Gift.Deactivated",
        "olo.gift:Gift.Activated",
    ]
    assert (gift.name, gift.price, gift.split(), gift.active) == ("Red rose", 12, (7, 5), True)
