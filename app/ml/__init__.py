"""Models: loaded once per process, shared, and used one task at a time per device. WhisperX calls live here."""
