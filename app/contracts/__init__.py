"""One package per outside contract: each holds what that protocol says (its request models, their mapping onto the
core's jobs, the shaping of answers and errors, its routes or entry points). Contracts import the core; the core
imports no contract."""
