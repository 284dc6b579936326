"""Turning what a user sends into validated 16 kHz mono audio."""
