"""The front door: dispatch, reverse proxy, static files, auth, rules, access log."""
