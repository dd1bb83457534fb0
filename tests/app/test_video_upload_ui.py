"""Video to video takes a file from the computer where the router can fetch it (issue 9 item 6):
in demo mode the file is checked, kept in the media cache, played from the media route and sent to the
emulator, whose URL the job then carries; a file that is no video is refused at the field; with a
real router (no media store yet) the page says why a public link is needed instead of offering upload."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import config
from core.emulator import clips
from core.jobs import uploads
from core.storage.ledger import Ledger
from core.storage.media_cache import content_name
from tests.app.test_create_pages import demo, generate, open_page, prefix, session_jobs
from ui.create import video_upload

__all__ = ["demo"]
CLIP = clips.ASSETS_DIR / "demo_16x9_5s.mp4"


def uploader(at: AppTest, p: str, field: str):
    return next(u for u in at.file_uploader if u.key.startswith(f"{p}.{field}.upload"))


def video_urls(at: AppTest) -> list[str]:
    return [v.proto.url for v in at.get("video")]


@pytest.mark.parametrize("router, field", [(config.MULEROUTER, "video"),
                                           (config.APIMART, "video_list.0.video_url")])
def test_demo_upload_plays_from_the_media_route_and_the_job_sends_the_emulator_url(
        demo: Path, router: str, field: str) -> None:
    at = open_page("video", router)
    p = prefix(at, "video")
    at.text_area(key=f"{p}.prompt").input("Make it look like a watercolour").run()
    data = CLIP.read_bytes()
    uploader(at, p, field).set_value(("harbour.mp4", data, "video/mp4")).run()
    assert not at.exception, [e.value for e in at.exception]
    url = at.session_state[f"{p}.{field}"]
    assert url.startswith("http://127.0.0.1:") and "/_emulator/uploads/" in url
    assert url.endswith("harbour.mp4")
    name = content_name(data, "mp4")
    assert any(u.endswith(f"{config.MEDIA_ROUTE_PREFIX}/{name}") for u in video_urls(at)), video_urls(at)
    assert (demo / config.MEDIA_DIRNAME / name).read_bytes() == data
    assert any("harbour.mp4" in t.value and "demo router" in t.value for t in at.text)
    generate(at, "video")
    assert len(session_jobs(at)) == 1 and any("Job started" in s.value for s in at.success)
    job = Ledger(demo).jobs.get(session_jobs(at)[0])
    sent = job.body["video"] if field == "video" else job.body["video_list"][0]["video_url"]
    assert sent == url

    at.button(key=f"{p}.{field}.__remove").click().run()  # back to a link field, empty
    assert at.text_input(key=f"{p}.{field}").value == ""


def test_a_file_that_is_no_video_is_refused_at_the_field(demo: Path) -> None:
    at = open_page("video")
    p = prefix(at, "video")
    field = "video"
    uploader(at, p, field).set_value(("notes.mp4", b"<html>not a video</html>", "video/mp4")).run()
    assert not at.exception
    assert any("not a video" in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.text_input(key=f"{p}.{field}").value == ""
    assert not video_urls(at)


def test_a_real_router_says_why_a_public_link_is_needed(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.KEY_ENV_VARS[config.MULEROUTER], "mr-test-key")
    at = open_page("video")
    p = prefix(at, "video")
    assert not [u for u in at.file_uploader if u.key.startswith(f"{p}.video.")]
    assert uploads.NEEDS_PUBLIC_LINK in [c.value for c in at.caption]


def test_the_cap_follows_the_server_limit() -> None:
    assert video_upload.max_upload_bytes() <= config.VIDEO_UPLOAD_MAX_BYTES
