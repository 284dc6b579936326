"""Process machinery above the use cases: the executor that claims queued tasks, start-up, the health report and
the thread that unloads idle models."""
