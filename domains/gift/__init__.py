"""Gifts: a catalog kept as events, and sending a gift (coins to a streamer, in a call or not)."""
