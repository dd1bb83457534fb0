"""core/jobs/uploads.py against the real emulator: a local video is checked (magic bytes, size), sent once to
the emulator's upload route in demo mode, served back, and accepted by the emulator's own tasks; a real
router has no upload target yet (the seam for an S3-compatible media store)."""

from __future__ import annotations

import httpx
import pytest

from core import config
from core.authoring import catalog
from core.emulator import clips
from core.jobs import providers, uploads
from core.models import RouterAccess
from tests.conftest import TEST_KEY

CLIP = clips.ASSETS_DIR / "demo_1x1_4s.mp4"


def demo_access(emu, router: str = config.MULEROUTER) -> RouterAccess:
    return RouterAccess(router=router, base_url=emu.base_url, key=TEST_KEY, demo=True)


def test_check_video_file_reads_magic_bytes_and_the_cap() -> None:
    data = CLIP.read_bytes()
    video = uploads.check_video_file(data)
    assert video.kind == "mp4" and video.size == len(data) and video.content_type == "video/mp4"
    assert uploads.check_video_file(b"\x1a\x45\xdf\xa3" + b"\0" * 20).kind == "webm"
    for junk in (b"", b"<!doctype html><html>", b"\x89PNG\r\n\x1a\n" + b"\0" * 20):
        with pytest.raises(ValueError, match=r"empty|not a video"):
            uploads.check_video_file(junk)
    with pytest.raises(ValueError, match="at most 1 KB"):
        uploads.check_video_file(data, max_bytes=1024)


def test_only_demo_mode_has_a_target_today(emu) -> None:
    target = uploads.video_upload_target(demo_access(emu))
    assert target is not None and target.kind == uploads.EMULATOR
    assert target.url == emu.base_url + config.EMULATOR_VIDEO_UPLOAD_PATH and TEST_KEY not in repr(target)
    real = RouterAccess(router=config.MULEROUTER, base_url="https://api.mulerouter.ai", key="k")
    assert uploads.video_upload_target(real) is None
    assert "public link" in uploads.NEEDS_PUBLIC_LINK


def test_an_uploaded_video_is_served_back_and_the_emulator_task_accepts_it(emu) -> None:
    data = CLIP.read_bytes()
    target = uploads.video_upload_target(demo_access(emu))
    with httpx.Client() as client:
        url = uploads.upload_video(client, target, data, "my clip.mp4")
        assert url.startswith(emu.base_url + "/_emulator/uploads/") and url.endswith("my_clip.mp4")
        back = client.get(url)
        assert back.content == data and back.headers["content-type"] == "video/mp4"
        endpoint = catalog.get("mulerouter/kling-v3-omni/reference-video-to-video")
        body = {"prompt": "Make it a watercolour", "video": url, "duration": 5}
        ref, _ = providers.submit(client, endpoint, body, demo_access(emu))
    assert ref.task_id and emu.submissions[-1]["body"]["video"] == url


def test_refusals_say_why_and_send_nothing_wrong(emu) -> None:
    target = uploads.video_upload_target(demo_access(emu))
    with httpx.Client() as client:
        with pytest.raises(ValueError, match="not a video"):
            uploads.upload_video(client, target, b"hello, not a video at all", "x.mp4")
        path = emu.base_url + config.EMULATOR_VIDEO_UPLOAD_PATH
        auth = {"Authorization": f"Bearer {TEST_KEY}"}
        junk = client.post(path, headers=auth, files={"file": ("x.mp4", b"<html></html>", "video/mp4")})
        missing = client.post(path, headers=auth, files={"other": ("x.mp4", CLIP.read_bytes(), "video/mp4")})
        anonymous = client.post(path, files={"file": ("x.mp4", CLIP.read_bytes(), "video/mp4")})
    assert junk.status_code == 400 and "not a video" in junk.json()["error"]["message"]
    assert missing.status_code == 400 and anonymous.status_code == 401
    assert emu.submissions == []  # uploads are not submissions
