"""Stored bodies reference media structurally: only image/video fields (read from the schemas) are
externalized and internalized, so a prompt is kept as typed, whatever it contains."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from core import config
from core.authoring import catalog
from core.authoring.media import encode_base64
from core.authoring.schemas import apimart as am
from core.authoring.schemas import mulerouter as mr
from core.authoring.schemas.media_fields import ITEM, image_paths, media_paths
from core.engine.runner import submit_job
from core.models import RouterAccess
from core.net.http import make_client
from core.storage.body_media import externalize_body, fingerprint_body, internalize_body, media_field_paths
from core.storage.ledger import Ledger
from core.storage.library import Library
from core.storage.media_cache import MediaCache, content_name
from tests.images import png

T0 = 1_800_000_000.0
MR_I2V = "mulerouter/kling-v3-omni/image-to-video"
MR_T2V = "mulerouter/kling-v3/text-to-video"
AM_OMNI = "apimart/kling-v3-omni"


def _tiny_png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (1, 1), "red").save(buf, format="PNG")
    return buf.getvalue()


def _hostile_prompts(cache: MediaCache) -> dict[str, str]:
    """A prompt naming a file that is really in the cache, and one that is valid Base64 of a PNG."""
    cached = cache.put_bytes(png(), "png")
    return {"ref": "media:" + cached, "b64": encode_base64(_tiny_png())}


# --- the paths, read from the schemas ---------------------------------------------------------------


def test_media_paths_cover_every_image_and_video_field():
    paths = media_field_paths()
    for path in [("first_frame",), ("last_frame",), ("images", ITEM), ("elements", ITEM, "frontal_image"),
                 ("elements", ITEM, "reference_images", ITEM), ("elements", ITEM, "reference_videos", ITEM),
                 ("image_urls", ITEM), ("image_with_roles", ITEM, "url"),
                 ("elements", ITEM, "element_input_urls", ITEM), ("video",),
                 ("video_list", ITEM, "video_url")]:
        assert path in paths, path
    texts = {("prompt",), ("negative_prompt",), ("multi_prompt", ITEM, "prompt"), ("elements", ITEM, "name"),
             ("elements", ITEM, "description"), ("model",), ("image_with_roles", ITEM, "role")}
    assert not texts & paths


def test_media_paths_per_schema():
    assert image_paths(mr.KlingV3TextToVideo) == {
        ("first_frame",), ("last_frame",), ("elements", ITEM, "frontal_image"),
        ("elements", ITEM, "reference_images", ITEM),
    }
    assert media_paths(am.ApimartKlingV3) == {("image_urls", ITEM)}
    assert ("video",) in media_paths(mr.OmniVideoEdit)  # a required field keeps its marker too
    assert all(media_paths(e.schema) for e in catalog.ENDPOINTS)


# --- store: externalize / fingerprint / internalize --------------------------------------------------


def test_prompts_round_trip_unchanged(tmp_path):
    cache = MediaCache(tmp_path / "media")
    prompts = _hostile_prompts(cache)
    frame = encode_base64(png())
    for text in prompts.values():
        body = {
            "prompt": text, "negative_prompt": text, "first_frame": frame, "images": [frame],
            "multi_prompt": [{"prompt": text, "duration": 5}],
            "elements": [{"type": "image", "frontal_image": frame, "reference_images": [frame]}],
        }
        stored = externalize_body(body, cache)
        assert stored["prompt"] == text and stored["negative_prompt"] == text
        assert stored["multi_prompt"][0]["prompt"] == text
        ref = "media:" + content_name(png(), "png")
        assert stored["first_frame"] == stored["images"][0] == ref
        assert stored["elements"][0] == {"type": "image", "frontal_image": ref, "reference_images": [ref]}
        assert fingerprint_body(body) == stored
        assert internalize_body(stored, cache) == body


def test_text_is_never_read_as_a_reference(tmp_path):
    cache = MediaCache(tmp_path / "media")
    ref = _hostile_prompts(cache)["ref"]
    body = {"prompt": ref, "elements": [{"name": ref, "description": ref, "element_input_urls": []}],
            "unknown_field": ref}
    assert internalize_body(body, cache) == body
    gone = "media:sha256-" + "0" * 64 + ".png"  # not in the cache: a prompt never raises
    assert internalize_body({"prompt": gone}, cache) == {"prompt": gone}
    with pytest.raises(FileNotFoundError):
        internalize_body({"first_frame": gone}, cache)


def test_rows_stored_by_older_versions_still_load(tmp_path):
    """Earlier code put references in image fields too: they still turn back into Base64."""
    cache = MediaCache(tmp_path / "media")
    name = cache.put_bytes(png(), "png")
    ref = "media:" + name
    old = {"prompt": "a fox", "first_frame": ref, "images": ["https://e.com/a.png", ref]}
    back = internalize_body(old, cache)
    assert back["first_frame"] == encode_base64(png()) and back["images"][1] == encode_base64(png())
    assert back["prompt"] == "a fox"


def test_a_media_ref_with_a_trailing_newline_is_not_a_reference(tmp_path):
    cache = MediaCache(tmp_path / "media")
    name = cache.put_bytes(png(), "png")
    body = {"first_frame": f"media:{name}\n"}
    assert internalize_body(body, cache) == body  # left for the schema to refuse, not read from disk


# --- library and resubmit ---------------------------------------------------------------------------


def test_library_save_load_export_import_keep_prompts(data_dir):
    lib = Library(data_dir)
    for label, text in _hostile_prompts(lib.media).items():
        body = {"prompt": text, "duration": 5, "first_frame": encode_base64(png())}
        version = lib.save(f"p-{label}", MR_I2V, body)
        assert version.body["prompt"] == text
        assert version.body["first_frame"].startswith("media:sha256-")
        assert lib.body(lib.latest(f"p-{label}")) == body
    exported = lib.export()
    other = Library(data_dir / "other")
    saved, refused = other.import_text(exported)
    assert not refused and len(saved) == 2
    assert {v.body["prompt"] for v in saved} == set(_hostile_prompts(lib.media).values())


@pytest.fixture
def rig(emu, tmp_path, api_key):
    emu.set_complete_after(0.1)
    data = tmp_path / "data"
    client = make_client()
    access = {r: RouterAccess(router=r, base_url=emu.base_url, key=api_key) for r in config.ROUTERS}
    yield Ledger(data), MediaCache(data / config.MEDIA_DIRNAME), client, access
    client.close()


@pytest.mark.parametrize("label", ["ref", "b64"])
@pytest.mark.parametrize("endpoint_id", [MR_I2V, AM_OMNI])
def test_resubmit_sends_the_prompt_as_typed(rig, emu, label, endpoint_id):
    ledger, cache, client, access = rig
    text = _hostile_prompts(cache)[label]
    endpoint = catalog.get(endpoint_id)
    body = {"prompt": text, "duration": 5}
    if endpoint_id == MR_I2V:
        body["first_frame"] = encode_base64(png())
    else:
        body["model"] = "kling-v3-omni"
    first = submit_job(ledger, cache, client, endpoint, body, access[endpoint.router], now=T0)
    assert ledger.jobs.get(first.id).body["prompt"] == text
    restored = internalize_body(ledger.jobs.get(first.id).body, cache)  # as ui/session.restore_body does
    assert restored == body
    again = submit_job(ledger, cache, client, endpoint, restored, access[endpoint.router], now=T0 + 120)
    assert again.task is not None and first.task is not None
    sent = [s["body"] for s in emu.submissions]
    assert len(sent) == 2 and all(s["prompt"] == text for s in sent)
    if endpoint_id == MR_I2V:
        assert all(s["first_frame"] == body["first_frame"] for s in sent)
