"""Process machinery, apart from the use cases: the executor that claims queued tasks, the webhook deliverer,
start-up, the health report and the metrics."""
