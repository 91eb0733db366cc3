"""Interactions: the history of each pair of users (calls, coins, gifts, messages)."""
