"""What the service reports about itself: its Prometheus metrics, below the use cases that count into them."""
