"""The browser tests use the integration tests' fixtures."""

from tests.integration.conftest import redis, short_dir  # noqa: F401
