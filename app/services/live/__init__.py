"""Live transcription: a session hears audio as it is spoken, finds its turns, and decodes each while it is
heard (`session`), on the audio, text, turn and event rules of the modules beside it. The sessions a process has
open are counted on its runtime (`app.runtime.LiveSessions`)."""
