"""OpenAI's `/v1/audio/*` and `/v1/models`: request models, their mapping onto our jobs, answers, errors and the
streamed transcript."""
