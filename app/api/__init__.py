"""The REST front door."""
