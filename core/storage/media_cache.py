"""The content-addressed media cache: files in the data directory named by the SHA-256 of their content
(images from request bodies, finished videos). core/storage/media_store.py is the same on S3."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

from core import config

CACHE_NAME = re.compile(r"^sha256-[0-9a-f]{64}\.[a-z0-9]{1,8}\Z")  # \Z: "$" would accept a trailing newline

def part_file(directory: Path, suffix: str = "") -> Path:
    """A fresh, empty ".part-…" file in `directory` for a download in progress (the engine removes old ones
    at start: core/engine/loop.py remove_stale_parts)."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".part-", suffix=suffix)
    os.close(fd)
    return Path(tmp)


def content_name(data: bytes, ext: str) -> str:
    """The cache name of some bytes: sha256-<hex>.<ext>."""
    return f"sha256-{hashlib.sha256(data).hexdigest()}.{ext.lower().lstrip('.')}"


class MediaCache:
    """Files named by the SHA-256 of their content (images from request bodies, finished videos)."""

    remote = False  # a local folder: links go through the app's media route (S3Media: True)

    def __init__(self, directory: Path | None = None) -> None:
        self.dir = Path(directory) if directory is not None else config.data_dir() / config.MEDIA_DIRNAME
        self.dir.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"MediaCache({str(self.dir)!r})"

    def path(self, name: str) -> Path:
        """The file of a cache name; ValueError for anything that is not a cache name."""
        if not CACHE_NAME.match(name):
            raise ValueError(f"not a media cache name: {name[:80]!r}")
        return self.dir / name

    def has(self, name: str) -> bool:
        try:
            return self.path(name).is_file()
        except ValueError:
            return False

    def put_bytes(self, data: bytes, ext: str) -> str:
        """Store bytes (atomically, once) and return their cache name."""
        name = content_name(data, ext)
        target = self.path(name)
        if not target.is_file():
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".part-")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, target)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp)
        return name

    def adopt_file(self, src: Path, ext: str) -> str:
        """Move a finished download into the cache under its content name; returns the name."""
        digest = hashlib.sha256()
        with open(src, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        name = f"sha256-{digest.hexdigest()}.{ext.lower().lstrip('.')}"
        target = self.path(name)
        if target.is_file():
            src.unlink()
        else:
            os.replace(src, target)
        return name

    def temp_path(self, suffix: str = "") -> Path:
        """A fresh path inside the cache directory for a download in progress."""
        return part_file(self.dir, suffix)

    def open(self, name: str) -> BinaryIO:
        """The file of a cache name, open for reading; FileNotFoundError when it is not in the cache."""
        path = self.path(name)
        if not path.is_file():
            raise FileNotFoundError(f"{name} is not in the media cache")
        return path.open("rb")

    def read_bytes(self, name: str) -> bytes:
        with self.open(name) as fh:
            return fh.read()

    def local_path(self, name: str) -> Path:
        """A local file with the content of `name`: the cache's own file (FileNotFoundError if missing)."""
        path = self.path(name)
        if not path.is_file():
            raise FileNotFoundError(f"{name} is not in the media cache")
        return path

    def url(self, name: str, *, download_name: str | None = None) -> str | None:
        """None: a local file is served by the app's own media route (core/storage/media_route.py)."""
        return None

