"""The pages with media in an S3-compatible bucket (moto on loopback, tests/conftest.py `s3_media`):
videos play from presigned links of the bucket (never through the app server), and Video to video offers
upload for a real router too, saying the router's link is temporary."""

from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from bench.pages import SAMPLE_VIDEO, finished_job
from bench.s3 import SECRET_ACCESS_KEY
from core import config
from core.emulator import clips
from core.storage.ledger import Ledger
from core.storage.media_cache import content_name
from core.storage.media_store import S3Media
from tests.app.test_create_pages import open_page, prefix

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "streamlit_app.py"
CLIP = clips.ASSETS_DIR / "demo_16x9_5s.mp4"
MR_T2V = "mulerouter/kling-v3/text-to-video"


@pytest.fixture
def bucket(data_dir: Path, s3_media: S3Media, monkeypatch: pytest.MonkeyPatch) -> S3Media:
    """A data directory whose media live in a fresh bucket (STUDIO_MEDIA_URL set by `s3_media`)."""
    for name in config.KEY_ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(config.EMULATOR_COMPLETE_AFTER_ENV, "1")
    return s3_media


def _is_bucket_link(url: str) -> bool:
    endpoint = urlsplit(os.environ["AWS_ENDPOINT_URL"]).netloc
    return urlsplit(url).netloc == endpoint and "X-Amz-Signature" in url


def test_a_finished_video_plays_and_downloads_from_presigned_links(bucket: S3Media, data_dir: Path) -> None:
    data = SAMPLE_VIDEO.read_bytes()
    name = bucket.put_bytes(data, "mp4")
    job = finished_job(MR_T2V, "A lighthouse in a storm", time.time() - 60, name)
    Ledger(data_dir).jobs.add(job)
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.query_params["job"] = job.id
    at.switch_page("app_pages/jobs.py").run()
    assert not at.exception, [e.value for e in at.exception]
    players = [v.proto.url for v in at.get("video")]
    assert players and all(_is_bucket_link(u) for u in players), players
    assert httpx.get(players[0], headers={"Range": "bytes=0-7"}).content == data[:8]
    downloads = [b.proto.url for b in at.get("link_button") if "response-content-disposition" in b.proto.url]
    assert downloads and _is_bucket_link(downloads[0])
    assert "attachment" in httpx.get(downloads[0]).headers["content-disposition"]
    assert SECRET_ACCESS_KEY not in str(at.get("video")) + str(at.get("link_button"))


def test_a_real_router_can_take_an_uploaded_video_with_a_temporary_link(
        bucket: S3Media, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.KEY_ENV_VARS[config.MULEROUTER], "mr-test-key")
    at = open_page("video")
    p = prefix(at, "video")
    uploaders = [u for u in at.file_uploader if u.key.startswith(f"{p}.video.upload")]
    assert uploaders, "a real router gets the upload when media is in a bucket"
    data = CLIP.read_bytes()
    uploaders[0].set_value(("harbour.mp4", data, "video/mp4")).run()
    assert not at.exception, [e.value for e in at.exception]
    url = at.session_state[f"{p}.video"]
    assert _is_bucket_link(url) and f"X-Amz-Expires={config.VIDEO_UPLOAD_LINK_TTL_S}" in url
    assert httpx.get(url).content == data  # what the router fetches
    assert any("temporary" in c.value for c in at.caption), [c.value for c in at.caption]
    assert any("media store" in t.value for t in at.text)
    players = [v.proto.url for v in at.get("video")]
    assert players and _is_bucket_link(players[0])
    assert bucket.has(content_name(data, "mp4"))
