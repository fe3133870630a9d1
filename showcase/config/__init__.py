"""The router configuration: YAML in, one frozen :class:`Config` out."""
