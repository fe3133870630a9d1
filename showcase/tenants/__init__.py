"""The tenant supervisor: lifecycle, spawning, readiness, idle stop, hooks, managed processes."""
