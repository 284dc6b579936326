"""whisper-asr-webservice's contract (`POST /asr`, `POST /detect-language`), for the clients that speak only it:
Bazarr's Whisper provider, subgen, SubtitleEdit and the like."""
