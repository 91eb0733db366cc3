"""Favorites: users a user follows, to find them again and hear when they come online."""
