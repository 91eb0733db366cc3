"""Chat: one conversation per pair of users, with messages, read receipts, entries (calls,
gifts) and contact masking."""
