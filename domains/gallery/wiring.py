"""The gallery domain's parts: the feed, the name search and live feed changes."""

from __future__ import annotations

from domains.gallery.feeds import GalleryFeeds
from domains.gallery.lookups import FavoritesLookup, NoFavorites, NoSuspensions, SuspensionLookup
from domains.gallery.projection import GALLERY_CHANNEL, GalleryProjection
from domains.gallery.queries import GalleryQueries
from domains.gallery.schema import GalleryQuery, GallerySubscription
from domains.gallery.services import GalleryServices
from eventlog.wiring import Core, Domain, Parts

DOMAIN: Domain[GalleryServices] = Domain(
    "gallery",
    projections=(GalleryProjection,),
    channels=(GALLERY_CHANNEL,),
    query=(GalleryQuery,),
    subscription=(GallerySubscription,),
)


def wire(
    core: Core,
    favorites: FavoritesLookup | None = None,
    suspensions: SuspensionLookup | None = None,
) -> Parts[GalleryServices]:
    """`favorites` and `suspensions`: the favorites and blocklist domains' answers (until
    they are plugged in, nobody is a favorite and nobody is suspended)."""
    queries = GalleryQueries(core.pool, favorites or NoFavorites(), suspensions or NoSuspensions())
    feeds = GalleryFeeds(core.hub, queries)
    return Parts(GalleryServices(queries, feeds), closers=(feeds.stop,))
