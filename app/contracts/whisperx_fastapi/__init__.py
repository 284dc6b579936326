"""whisperX-FastAPI's routes we share with it: its query parameters, task, diarization and callback shapes,
errors, uploaded documents and health bodies. Its callback body shape is registered by
`app.contracts.register_contracts`."""
