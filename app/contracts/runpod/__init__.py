"""Our RunPod action contract: `job["input"]["action"]` dispatched to the core, answers and errors in the
handler's shape."""
