"""The favorites domain's services and queries as one typed record: what its resolvers, higher
domains (the gallery's cards), tests and tools reach it by (`services.favorites`)."""

from __future__ import annotations

from dataclasses import dataclass

from domains.favorites.queries import FavoritesQueries
from domains.favorites.service import FavoritesService


@dataclass(frozen=True)
class FavoritesServices:
    favorites: FavoritesService
    favorites_queries: FavoritesQueries
