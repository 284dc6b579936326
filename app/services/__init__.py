"""Use cases shared by the REST app and the RunPod worker. No HTTP or RunPod here."""
