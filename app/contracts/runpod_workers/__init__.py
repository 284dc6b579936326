"""The inputs of the two public RunPod whisper workers (worker-faster_whisper, whisperx-worker), served by our
pipeline and answered in their shape."""
