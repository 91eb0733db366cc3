"""The gallery domain's services and queries as one typed record (`services.gallery`)."""

from __future__ import annotations

from dataclasses import dataclass

from domains.gallery.feeds import GalleryFeeds
from domains.gallery.queries import GalleryQueries


@dataclass(frozen=True)
class GalleryServices:
    gallery: GalleryQueries
    gallery_feeds: GalleryFeeds
