"""The config file: where it is, its text and its TOML, with errors that name the file and the fix.

Apart from monitor/config.py (which validates it) so that a command that finds its config already
validated (monitor/config_stamp.py) reads it without importing pydantic and monitor's models.
"""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError

DEFAULT_CONFIG = Path("config/monitor.toml")
ENV_CONFIG = "MONITOR_CONFIG"
ENV_DB = "MONITOR_DB"
ENV_WEB_HOST = "MONITOR_WEB_HOST"
ENV_NO_COLOR = "NO_COLOR"  # https://no-color.org: set and not empty, no colour by default


def config_path(path: Path | None) -> Path:
    """The config file to use: the given path, else $MONITOR_CONFIG, else config/monitor.toml."""
    if path is not None:
        return path
    env = os.environ.get(ENV_CONFIG)
    return Path(env) if env else DEFAULT_CONFIG


# How the shipped default config is named in messages.
SHIPPED = "the shipped default config"


def uses_shipped(path: Path | None) -> bool:
    """True when no config was asked for (no --config, no $MONITOR_CONFIG) and the default
    config/monitor.toml does not exist here: the shipped default config is used instead, so
    that every command runs from any folder after `pip install`."""
    return path is None and not os.environ.get(ENV_CONFIG) and not DEFAULT_CONFIG.exists()


def no_color() -> bool:
    """True when $NO_COLOR is set and not empty: output is not coloured unless asked for."""
    return bool(os.environ.get(ENV_NO_COLOR))


def load_text(path: Path) -> str:
    """The config file's text; ConfigError naming the file and the fix when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found; run `monitor init` to write one, "
            f"or pass --config PATH (or set {ENV_CONFIG})"
        ) from None
    except PermissionError:
        raise ConfigError(
            f"{path}: cannot read the config file (permission denied); make it readable by "
            "this user (chmod u+r), or pass --config PATH"
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            f"{path}: is a folder, not a config file; pass --config PATH to the TOML file"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: the config file is not UTF-8 ({exc.reason} at byte {exc.start}); "
            "save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the config file ({exc.strerror or exc}); check the file "
            "and its disk, or pass --config PATH"
        ) from None


def loads(text: str, *, origin: str = "config") -> dict[str, Any]:
    """Parse TOML text, turning syntax errors into ConfigError."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML: {exc}") from exc
    except RecursionError:  # tomllib recurses once per level of nested arrays or tables
        raise ConfigError(
            f"{origin}: not valid TOML for monitor: arrays or tables nested too deeply to read; "
            "flatten them (monitor's config nests at most a few levels)"
        ) from None


def shipped_config_text() -> str:
    """The commented example config that ships with monitor (config/monitor.toml)."""
    packaged = resources.files("monitor").joinpath("data/monitor.toml")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    # An editable install runs from the source tree, where the file sits beside the package.
    return (Path(__file__).resolve().parent.parent / DEFAULT_CONFIG).read_text(encoding="utf-8")


def web_host_override() -> str | None:
    """$MONITOR_WEB_HOST when set and not empty: the address the web view listens on instead of
    [web].host (the container listens on 0.0.0.0, behind its published port)."""
    return os.environ.get(ENV_WEB_HOST) or None


def database_override() -> str | None:
    """$MONITOR_DB when set and not empty: the database to use instead of the config's."""
    return os.environ.get(ENV_DB) or None
