"""The webhook outbox: a finished task's webhook recorded as a row, then sent and retried by its deliverer."""
