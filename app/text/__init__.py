"""What was said, rewritten by rule: spellings a user fixes, words biasing decoding, and what must not be kept."""
