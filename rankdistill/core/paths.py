"""Where rankdistill keeps things: the cache folder and the data root, from the environment."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "RANKDISTILL_CACHE"
DATA_ENV = "RANKDISTILL_DATA"


def cache_dir() -> Path:
    """Models, downloads and other re-creatable files: $RANKDISTILL_CACHE or ~/.cache/rankdistill."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "rankdistill").expanduser()


def env_data_root() -> Path | None:
    """The folder of BEIR datasets named by $RANKDISTILL_DATA, if set."""
    value = os.environ.get(DATA_ENV)
    return Path(value).expanduser() if value else None
