"""The favorites domain's parts: who follows whom, and the "came online" notices."""

from __future__ import annotations

from uuid import UUID

from domains.favorites.policy import FavoriteOnlinePolicy, FavoritesOnBlockPolicy
from domains.favorites.projection import FavoritesProjection
from domains.favorites.queries import FavoritesQueries
from domains.favorites.schema import FavoritesMutation, FavoritesQuery
from domains.favorites.service import FavoritesService
from domains.favorites.services import FavoritesServices
from domains.notification.services import NotificationServices
from domains.profile.services import ProfileServices
from domains.video.services import VideoServices
from eventlog.wiring import Core, Domain, Parts

DOMAIN: Domain[FavoritesServices] = Domain(
    "favorites",
    projections=(FavoritesProjection,),
    query=(FavoritesQuery,),
    mutation=(FavoritesMutation,),
)


def wire(
    core: Core, profile: ProfileServices, video: VideoServices, notification: NotificationServices
) -> Parts[FavoritesServices]:
    queries = FavoritesQueries(core.pool)
    favorites = FavoritesService(
        core.store,
        core.clock,
        queries.followers_of,
        online_notice_seconds=core.settings.favorite_online_hours * 3600,
    )

    async def came_online(user_id: UUID) -> None:
        await favorites.came_online(user_id)

    video.presence.on_online(came_online)  # run by the process that saw the user come online
    return Parts(
        FavoritesServices(favorites, queries),
        policies=(
            FavoritesOnBlockPolicy(favorites),
            FavoriteOnlinePolicy(notification.notifications, profile.profiles),
        ),
    )
