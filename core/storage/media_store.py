"""Where media lives: the local folder (media_cache.MediaCache, the default) or an S3-compatible bucket
(S3Media).

    open_media_store(data_dir)            S3Media when config.media_url() names "s3://bucket/prefix",
                                          else the local MediaCache in the data directory
    S3Media(bucket, prefix, local_dir)    the same methods as MediaCache:
        has(name)                         the object exists (names are content hashes: a yes is remembered)
        put_bytes(data, ext) -> name      uploaded once (skipped when already there)
        adopt_file(src, ext) -> name      a finished download uploaded (multipart when big), src removed;
                                          kept when the upload fails (the engine uploads it later,
                                          core/engine/runner.py pending_upload: never fetched again)
        temp_path(suffix)                 a local file for a download in progress (in `.dir`)
        open(name) / read_bytes(name)     the object's bytes, streamed / whole
        local_path(name)                  a local copy (kept in a bounded cache, oldest used removed first)
        url(name, *, download_name=None)  a presigned GET link (config.MEDIA_LINK_TTL_S): browsers fetch
                                          the bytes from the bucket itself, never through the app server

Endpoint and credentials are read the standard AWS way by boto3 (AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3,
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, ~/.aws, instance roles), so MinIO, Cloudflare
R2 and AWS S3 all work; with a custom endpoint, addressing is path-style (MinIO, moto). Links are signed
for the endpoint browsers reach: config.media_public_endpoint() when the servers reach the bucket under
another name (compose: http://minio:9000 inside, http://localhost:9000 outside; the signature covers the
host). A link carries the access key id in its signature parameters, never the secret.

No Streamlit import (core rule)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import urlsplit

from core import config, secrets_file
from core.errors import StudioError
from core.storage.media_cache import MediaCache, content_name, part_file
from core.storage.media_route import NAME_PATTERN, content_disposition, download_filename

log = logging.getLogger(__name__)

ENDPOINT_ENV_VARS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")  # boto3 reads these itself, in this order
DEFAULT_CONTENT_TYPE = "application/octet-stream"
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_FROM_CONFIG: Any = object()


class MediaStoreError(StudioError):
    """The bucket could not be reached or refused a request (plain words; the engine retries later)."""

    default_message = "The media store could not be reached. The app tries again later."


class MediaStore(Protocol):
    """What pages, the engine and the media route use, whichever store is configured."""

    dir: Path

    def has(self, name: str) -> bool: ...
    def put_bytes(self, data: bytes, ext: str) -> str: ...
    def adopt_file(self, src: Path, ext: str) -> str: ...
    def temp_path(self, suffix: str = "") -> Path: ...
    def open(self, name: str) -> BinaryIO: ...
    def read_bytes(self, name: str) -> bytes: ...
    def local_path(self, name: str) -> Path: ...
    def url(self, name: str, *, download_name: str | None = None) -> str | None: ...


def parse_media_url(url: str) -> tuple[str, str]:
    """("bucket", "prefix") of "s3://bucket/prefix"; ValueError in plain words for anything else."""
    parts = urlsplit((url or "").strip())
    if parts.scheme.lower() != "s3" or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(f"The media location must look like s3://bucket/folder, not {url[:80]!r}.")
    return parts.netloc, parts.path.strip("/")


def aws_setting(name: str) -> str | None:
    """An AWS setting the standard way (the environment), else a top-level entry of the operator's secrets
    (hosts such as Streamlit Community Cloud take settings only there); None: boto3's own chain decides."""
    return secrets_file.operator_value(name) or None


def custom_endpoint() -> str | None:
    """The S3 endpoint named in the environment or secrets (MinIO, R2, moto…), None for AWS S3 itself."""
    for name in ENDPOINT_ENV_VARS:
        value = aws_setting(name)
        if value:
            return value
    return None


def content_type_of(name: str) -> str:
    return config.MEDIA_CONTENT_TYPES.get(name.rsplit(".", 1)[-1].lower(), DEFAULT_CONTENT_TYPE)


def make_s3_client(endpoint_url: str | None = None) -> Any:
    """A boto3 S3 client: `endpoint_url` or the standard AWS environment; path-style for custom endpoints."""
    import boto3
    from botocore.config import Config

    path_style = bool(endpoint_url or custom_endpoint())
    cfg = Config(
        signature_version="s3v4",
        s3={"addressing_style": "path"} if path_style else {},
        connect_timeout=config.MEDIA_S3_CONNECT_TIMEOUT_S,
        read_timeout=config.MEDIA_S3_READ_TIMEOUT_S,
        retries={"max_attempts": config.MEDIA_S3_RETRIES, "mode": "standard"},
        max_pool_connections=config.MAX_CONCURRENT_POLLS,
    )
    session = boto3.session.Session(
        aws_access_key_id=aws_setting("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=aws_setting("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=aws_setting("AWS_SESSION_TOKEN"),
        region_name=aws_setting("AWS_DEFAULT_REGION") or aws_setting("AWS_REGION"),
    )
    return session.client("s3", endpoint_url=endpoint_url or custom_endpoint(), config=cfg)


def _is_missing(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error") or {}
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return str(error.get("Code")) in _MISSING_CODES or status == 404


def _store_error(exc: Exception) -> MediaStoreError:
    """A plain-words error for a failed bucket request; the log gets the kind, never credentials."""
    log.warning("media store request failed: %s", type(exc).__name__)
    return MediaStoreError()


class S3Media:
    """Media in an S3-compatible bucket under `prefix/`, named by content hash like the local folder."""

    remote = True  # links to it are presigned, and a router can fetch them (MediaCache: False)

    def __init__(
        self, bucket: str, prefix: str, local_dir: Path, *, client: Any = None, signer: Any = None,
        clock: Callable[[], float] = time.time,
        cache_max_bytes: int = config.MEDIA_S3_LOCAL_CACHE_MAX_BYTES,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.dir = Path(local_dir)  # downloads in progress (engine.remove_stale_parts cleans it)
        self.cache_dir = self.dir / config.MEDIA_S3_CACHE_DIRNAME
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.cache_max_bytes = cache_max_bytes
        self._client = client if client is not None else make_s3_client()
        if signer is None:
            public = config.media_public_endpoint()
            signer = make_s3_client(public) if public else self._client
        self._signer = signer
        self._clock = clock
        self._lock = threading.Lock()
        self._known: set[str] = set()
        self._links: OrderedDict[tuple[str, str | None, float], tuple[str, float]] = OrderedDict()

    def __repr__(self) -> str:
        return f"S3Media('s3://{self.bucket}/{self.prefix}')"

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def key(self, name: str) -> str:
        """The object key of a cache name; ValueError for anything that is not a cache name."""
        if not NAME_PATTERN.fullmatch(name or ""):
            raise ValueError(f"not a media cache name: {str(name)[:80]!r}")
        return f"{self.prefix}/{name}" if self.prefix else name

    def _remember(self, name: str) -> None:
        with self._lock:
            if len(self._known) >= config.MEDIA_KNOWN_NAMES_MAX:
                self._known.clear()
            self._known.add(name)

    def has(self, name: str) -> bool:
        """The object exists. False also when the bucket cannot be reached (logged): pages then show the
        video as missing rather than failing."""
        try:
            key = self.key(name)
        except ValueError:
            return False
        if name in self._known:
            return True
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except Exception as exc:
            if not _is_missing(exc):
                _store_error(exc)
            return False
        self._remember(name)
        return True

    def put_bytes(self, data: bytes, ext: str) -> str:
        """Store bytes once under their content name (no upload when the object is there); the name."""
        name = content_name(data, ext)
        if not self.has(name):
            try:
                self._client.put_object(Bucket=self.bucket, Key=self.key(name), Body=data,
                                        ContentType=content_type_of(name))
            except Exception as exc:
                raise _store_error(exc) from None
            self._remember(name)
        return name

    def adopt_file(self, src: Path, ext: str) -> str:
        """Upload a finished local file under its content name (in parts when big), then remove it.
        MediaStoreError (the file is kept) when the bucket refuses or cannot be reached."""
        from boto3.s3.transfer import TransferConfig

        digest = hashlib.sha256()
        with open(src, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        name = f"sha256-{digest.hexdigest()}.{ext.lower().lstrip('.')}"
        if not self.has(name):
            transfer = TransferConfig(multipart_threshold=config.MEDIA_S3_MULTIPART_THRESHOLD_BYTES,
                                      multipart_chunksize=config.MEDIA_S3_MULTIPART_CHUNK_BYTES)
            try:
                self._client.upload_file(str(src), self.bucket, self.key(name), Config=transfer,
                                         ExtraArgs={"ContentType": content_type_of(name)})
            except Exception as exc:
                raise _store_error(exc) from None
            self._remember(name)
        Path(src).unlink(missing_ok=True)
        return name

    def temp_path(self, suffix: str = "") -> Path:
        """A fresh local path for a download in progress (uploaded by adopt_file when finished)."""
        return part_file(self.dir, suffix)

    def open(self, name: str) -> BinaryIO:
        """The object's bytes as a stream (use it in a `with`); FileNotFoundError when it is missing."""
        try:
            return self._client.get_object(Bucket=self.bucket, Key=self.key(name))["Body"]
        except ValueError:
            raise
        except Exception as exc:
            if _is_missing(exc):
                raise FileNotFoundError(f"{name} is not in the media store") from None
            raise _store_error(exc) from None

    def read_bytes(self, name: str) -> bytes:
        with self.open(name) as body:
            return body.read()

    def local_path(self, name: str) -> Path:
        """A local copy of the object (downloaded once, kept in a bounded cache); FileNotFoundError when
        it is missing."""
        key = self.key(name)
        path = self.cache_dir / name
        if path.is_file():
            with contextlib.suppress(OSError):
                os.utime(path)  # most recently used
            return path
        tmp = self.temp_path()
        try:
            try:
                self._client.download_file(self.bucket, key, str(tmp))
            except Exception as exc:
                if _is_missing(exc):
                    raise FileNotFoundError(f"{name} is not in the media store") from None
                raise _store_error(exc) from None
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        self._remember(name)
        self.trim_cache(keep=path)
        return path

    def trim_cache(self, keep: Path | None = None) -> int:
        """Remove local copies, least recently used first, until they fit cache_max_bytes; how many."""
        files = []
        for path in self.cache_dir.iterdir():
            with contextlib.suppress(OSError):
                info = path.stat()
                files.append((info.st_mtime, info.st_size, path))
        total = sum(size for _, size, _ in files)
        removed = 0
        for _, size, path in sorted(files, key=lambda f: f[0]):
            if total <= self.cache_max_bytes:
                break
            if path == keep:
                continue
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size
                removed += 1
        return removed

    def url(self, name: str, *, download_name: str | None = None,
            expires_s: float = config.MEDIA_LINK_TTL_S) -> str:
        """A presigned GET link valid for `expires_s` with the right Content-Type (and, with
        `download_name`, Content-Disposition: attachment). The same link is handed out again while it is
        young (config.MEDIA_LINK_REUSE_S), so a page's player is not reloaded on every rerun."""
        key = self.key(name)
        cache_key = (name, download_name, float(expires_s))
        now = self._clock()
        reuse_s = min(config.MEDIA_LINK_REUSE_S, expires_s / 2)
        with self._lock:
            hit = self._links.get(cache_key)
            if hit is not None and now - hit[1] < reuse_s:
                self._links.move_to_end(cache_key)
                return hit[0]
        params = {"Bucket": self.bucket, "Key": key, "ResponseContentType": content_type_of(name)}
        if download_name is not None:
            ext = name.rsplit(".", 1)[-1]
            params["ResponseContentDisposition"] = content_disposition(download_filename(download_name, ext))
        link = self._signer.generate_presigned_url("get_object", Params=params, ExpiresIn=int(expires_s))
        with self._lock:
            self._links[cache_key] = (link, now)
            self._links.move_to_end(cache_key)
            while len(self._links) > config.MEDIA_LINK_CACHE_SIZE:
                self._links.popitem(last=False)
        return link


def is_remote(media: Any) -> bool:
    """Media kept in a bucket (links are presigned) rather than the local folder."""
    return bool(getattr(media, "remote", False))


def open_media_store(data_dir: Path, url: str | None = _FROM_CONFIG) -> MediaCache | S3Media:
    """The media store for a data directory: S3Media for an "s3://bucket/prefix" URL (default:
    config.media_url()), the local MediaCache in `<data_dir>/media` otherwise."""
    if url is _FROM_CONFIG:
        url = config.media_url()
    if not url:
        return MediaCache(Path(data_dir) / config.MEDIA_DIRNAME)
    bucket, prefix = parse_media_url(url)
    return S3Media(bucket, prefix, Path(data_dir) / config.MEDIA_S3_LOCAL_DIRNAME)
