"""The media inside request bodies: inline Base64 images in image/video fields <-> references to files in
the media cache ("media:sha256-<hex>.<ext>").

Request bodies are stored with inline Base64 images in image/video fields (read from the schemas)
replaced by "media:sha256-<hex>.<ext>" references to files in the media cache (`externalize_body` /
`internalize_body`); text fields are never touched. The API key is never part of a job, so it never
reaches the database or the media directory.

Only media fields are touched: the paths of image/video fields read from every catalog schema
(core.authoring.schemas.media_fields), e.g. first_frame, images[*], elements[*].reference_images[*],
image_with_roles[*].url. A prompt or any other text is kept as it is, whatever it contains (a
prompt "media:sha256-…" or one that happens to be Base64 of a PNG). Bodies stored by older
versions load the same way: their references already sit in image fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.authoring import media
from core.storage.media_cache import CACHE_NAME, MediaCache, content_name

MEDIA_PREFIX = "media:"
_IMAGE_MAGIC: tuple[tuple[bytes, str], ...] = ((b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"))


def inline_image(value: str) -> tuple[bytes, str] | None:
    """(bytes, ext) when `value` is bare Base64 of a PNG or JPEG image, else None (URLs, prompts…)."""
    if not isinstance(value, str) or media.is_url(value) or not media.looks_like_base64(value):
        return None
    if any(ch.isspace() for ch in value.strip()):
        return None  # prose, not Base64 (the app never sends wrapped Base64)
    try:
        data = media.decode_base64(value)
    except ValueError:
        return None
    for magic, ext in _IMAGE_MAGIC:
        if data.startswith(magic):
            return data, ext
    return None


def media_ref_name(value: Any) -> str | None:
    """The cache name in a stored media reference ("media:sha256-<hex>.<ext>"), else None."""
    if not isinstance(value, str) or not value.startswith(MEDIA_PREFIX):
        return None
    name = value[len(MEDIA_PREFIX):]
    return name if CACHE_NAME.match(name) else None


@dataclass(frozen=True)
class _MediaNode:
    """One level of the media-field tree: `leaf` = a string here is media; `keys` = fields below;
    `item` = what every item of a list here is."""

    leaf: bool = False
    keys: dict[str, _MediaNode] | None = None
    item: _MediaNode | None = None


def _tree(paths: list[tuple[str, ...]], item_key: str) -> _MediaNode:
    heads: dict[str, list[tuple[str, ...]]] = {}
    for p in paths:
        if p:
            heads.setdefault(p[0], []).append(p[1:])
    item = heads.pop(item_key, None)
    return _MediaNode(
        leaf=any(not p for p in paths),
        keys={k: _tree(v, item_key) for k, v in heads.items()} or None,
        item=_tree(item, item_key) if item is not None else None,
    )


def media_field_paths() -> frozenset[tuple[str, ...]]:
    """Every image/video field path of every endpoint's request schema ("*" = any list item)."""
    from core.authoring import catalog  # here, not at the top: only bodies need the schemas
    from core.authoring.schemas.media_fields import media_paths_of

    return media_paths_of(e.schema for e in catalog.ENDPOINTS)


_MEDIA_TREE: list[_MediaNode] = []  # built once, on first use


def _media_tree() -> _MediaNode:
    if not _MEDIA_TREE:
        from core.authoring.schemas.media_fields import ITEM

        _MEDIA_TREE.append(_tree(sorted(media_field_paths()), ITEM))
    return _MEDIA_TREE[0]


def _map_media(value: Any, node: _MediaNode | None, fn: Callable[[str], str]) -> Any:
    """A copy of `value` with `fn` applied to the strings that sit on a media path (and only those)."""
    if isinstance(value, dict):
        keys = (node.keys if node else None) or {}
        return {k: _map_media(v, keys.get(k), fn) for k, v in value.items()}
    if isinstance(value, list):
        item = node.item if node else None
        return [_map_media(v, item, fn) for v in value]
    if isinstance(value, str) and node is not None and node.leaf:
        return fn(value)
    return value


def _externalize_one(value: str, put: Callable[[bytes, str], str]) -> str:
    found = inline_image(value)
    return MEDIA_PREFIX + put(*found) if found else value


def externalize_body(body: dict[str, Any], cache: MediaCache) -> dict[str, Any]:
    """A copy of `body` with every inline Base64 image of a media field stored in the cache and
    replaced by "media:sha256-<hex>.<ext>". Other fields are copied unchanged."""
    return _map_media(body, _media_tree(), lambda s: _externalize_one(s, cache.put_bytes))


def fingerprint_body(body: dict[str, Any]) -> dict[str, Any]:
    """What `externalize_body` would store, without writing anything (for duplicate checks)."""
    return _map_media(body, _media_tree(), lambda s: _externalize_one(s, content_name))


def internalize_body(body: dict[str, Any], cache: MediaCache) -> dict[str, Any]:
    """A copy of a stored body with the media references of its media fields turned back into bare
    Base64 (for resubmits). Text anywhere else is never read as a reference.

    Raises FileNotFoundError (plain words) when a referenced file left the cache.
    """

    def restore(value: str) -> str:
        name = media_ref_name(value)
        if name is None:
            return value
        try:
            data = cache.read_bytes(name)
        except FileNotFoundError:
            gone = f"the image {name} is no longer in the media cache; add it again"
            raise FileNotFoundError(gone) from None
        return media.encode_base64(data)

    return _map_media(body, _media_tree(), restore)
