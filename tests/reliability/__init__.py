"""Reliability proofs: crashes, concurrent writers, soak, stage faults, bad input, secrets and outbound URLs."""
