"""Which fields of a request body hold media, read from the schemas' own field types.

A field holds media when its type carries a `MediaField` marker (ImageRef, ImageUrl, VideoUrl in
core.authoring.schemas.common). A path is a tuple of field names with `ITEM` ("*") for "any item of a list":

    ("first_frame",)                          MuleRouter first/last frame
    ("images", "*")                           MuleRouter reference images
    ("elements", "*", "reference_images", "*")
    ("image_with_roles", "*", "url")          APIMart images with a role
    ("video_list", "*", "video_url")          a reference video

Prompts, names and every other text are never on such a path, whatever they contain.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from core.authoring.schemas.common import MediaField

ITEM = "*"
MEDIA_KINDS = ("image", "video")
MediaPath = tuple[str, ...]

_SEQUENCES = (list, tuple, set, frozenset, typing.Sequence, typing.MutableSequence)


def _marker(metadata: Iterable[Any]) -> MediaField | None:
    return next((m for m in metadata if isinstance(m, MediaField)), None)


def _walk(annotation: Any, path: MediaPath, kinds: tuple[str, ...], seen: frozenset[type],
          out: set[MediaPath]) -> None:
    """Add every media path under `annotation` (reached at `path`) to `out`."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        found = _marker(annotation.__metadata__)
        if found is not None and found.kind in kinds:
            out.add(path)
        _walk(annotation.__origin__, path, kinds, seen, out)
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            _walk(arg, path, kinds, seen, out)
    elif origin in _SEQUENCES or (isinstance(origin, type) and origin in _SEQUENCES):
        for arg in typing.get_args(annotation)[:1]:
            _walk(arg, (*path, ITEM), kinds, seen, out)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel) and annotation not in seen:
        _walk_model(annotation, path, kinds, seen | {annotation}, out)


def _walk_model(model: type[BaseModel], path: MediaPath, kinds: tuple[str, ...], seen: frozenset[type],
                out: set[MediaPath]) -> None:
    for name, info in model.model_fields.items():
        here = (*path, name)
        found = _marker(info.metadata)  # a required Annotated field keeps its metadata here
        if found is not None and found.kind in kinds:
            out.add(here)
        _walk(info.annotation, here, kinds, seen, out)


def media_paths(model: type[BaseModel], kinds: tuple[str, ...] = MEDIA_KINDS) -> frozenset[MediaPath]:
    """Every path of `model`'s body that holds media of the given kinds (nested lists included)."""
    out: set[MediaPath] = set()
    _walk_model(model, (), tuple(kinds), frozenset({model}), out)
    return frozenset(out)


def media_paths_of(models: Iterable[type[BaseModel]],
                   kinds: tuple[str, ...] = MEDIA_KINDS) -> frozenset[MediaPath]:
    """The union of `media_paths` over several schemas (e.g. every endpoint of the catalog)."""
    out: set[MediaPath] = set()
    for model in models:
        out |= media_paths(model, kinds)
    return frozenset(out)


def image_paths(model: type[BaseModel]) -> frozenset[MediaPath]:
    """The paths of `model`'s body that hold images."""
    return media_paths(model, ("image",))
