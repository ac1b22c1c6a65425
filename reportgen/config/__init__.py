"""The config stage: the schema of every key (with its help text), loading with one-line
errors, and the docs generated from the schema."""

from reportgen.config.load import LoadedConfig, load_config
from reportgen.config.schema import Config

__all__ = ["Config", "LoadedConfig", "load_config"]
