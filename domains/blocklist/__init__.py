"""Blocklist: users who blocked other users; no calls (or matches) between them."""
