"""whisperX-FastAPI's routes we share with it: its query parameters, task, diarization and callback shapes,
errors, uploaded documents and health bodies."""

from app.contracts.whisperx_fastapi.schemas import WHISPERX_FASTAPI, callback_body
from app.process.webhooks import BODY_SHAPES

BODY_SHAPES[WHISPERX_FASTAPI] = callback_body
