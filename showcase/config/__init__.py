"""The router configuration: YAML in, one frozen :class:`Config` out."""

from .loader import load_config, parse_config
from .model import Config
from .nodes import ConfigError
from .schema import OUR_KEYS, key_paths
from .values import expand_replacement, parse_duration, parse_size

__all__ = [
    "OUR_KEYS",
    "Config",
    "ConfigError",
    "expand_replacement",
    "key_paths",
    "load_config",
    "parse_config",
    "parse_duration",
    "parse_size",
]
