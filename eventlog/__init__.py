"""The shared, append-only event log of olo and the machinery that follows it."""
