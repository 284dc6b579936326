"""The use cases every door shares. They know no door: neither FastAPI, nor RunPod, nor any contract
(tests/test_layers.py)."""
