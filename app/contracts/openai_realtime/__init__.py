"""OpenAI's Realtime protocol for live transcription (`/v1/realtime?intent=transcription` over WebSocket): its
client events, session configuration, server events and errors, over our live sessions."""
