"""One package per outside contract: each holds what that protocol says (its request models, their mapping onto the
core's jobs, the shaping of answers and errors, its routes or entry points). Contracts import the core; the core
imports no contract.

What a contract adds to the process is registered by `register_contracts`, which both entry points (the FastAPI
app and the RunPod handler) call at start, never by an import's side effect: a worker that never imports a
contract's package still serves every shape a job may ask for."""


def register_contracts() -> None:
    """Add every contract's webhook body shape to the process (idempotent)."""
    from app.contracts.whisperx_fastapi.schemas import WHISPERX_FASTAPI, callback_body
    from app.outbox.webhooks import BODY_SHAPES

    BODY_SHAPES[WHISPERX_FASTAPI] = callback_body
