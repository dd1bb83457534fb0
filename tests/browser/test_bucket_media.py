"""Media in an S3-compatible bucket, in a real Chromium: a Streamlit server whose STUDIO_MEDIA_URL names a
bucket of a moto server on loopback (bench/s3.py). The Gallery's <video> plays from a presigned link of the
bucket (no video byte through the app server), the Download link is presigned too, and an old
/api/media/<name> link answers with a redirect to a fresh presigned link."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from bench import servers
from bench.pages import SAMPLE_VIDEO, finished_job
from bench.s3 import SECRET_ACCESS_KEY
from core import config
from core.storage.ledger import Ledger
from core.storage.media_store import S3Media
from tests.browser.test_gallery_media import HAVE_CURRENT_DATA, LONG, _video_states

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-results"
PROMPT = "A lantern floats over a dark lake, bucket media test"


@pytest.fixture
def bucket_app(s3_server, tmp_path: Path):
    """(app URL, S3Media of its bucket, data dir): a Streamlit server in demo mode with media in a bucket."""
    bucket = s3_server.make_bucket(f"browser-{uuid.uuid4().hex[:12]}")
    s3_env = s3_server.env(bucket, "studio")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("AWS_")}
    env.pop(config.MEDIA_PUBLIC_ENDPOINT_ENV, None)
    env.update(s3_env, STUDIO_DATA_DIR=str(tmp_path), STUDIO_EMULATOR_COMPLETE_AFTER="3")
    saved = {k: os.environ.get(k) for k in s3_env}
    os.environ.update(s3_env)  # this process writes to the same bucket
    try:
        media = S3Media(bucket, "studio", tmp_path / "test-side")
        proc, url = servers.start_streamlit("streamlit_app.py", env=env, log_path=tmp_path / "streamlit.log")
        try:
            yield url, media, tmp_path
        finally:
            servers.stop(proc)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_the_gallery_plays_from_the_bucket(page: Page, bucket_app) -> None:
    url, media, data_dir = bucket_app
    data = SAMPLE_VIDEO.read_bytes()
    name = media.put_bytes(data, "mp4")
    job = finished_job("mulerouter/kling-v3/text-to-video", PROMPT, time.time() - 60, name)
    Ledger(data_dir).jobs.add(job)
    endpoint = urlsplit(os.environ["AWS_ENDPOINT_URL"]).netloc

    page.goto(url)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Gallery").click()
    expect(page.get_by_role("heading", name="Gallery").first).to_be_visible(timeout=LONG)
    expect(page.get_by_text(PROMPT).locator("visible=true").first).to_be_visible(timeout=LONG)
    expect(page.locator("video").first).to_be_attached(timeout=LONG)
    src = page.evaluate("document.querySelector('video').currentSrc || document.querySelector('video').src")
    assert src and urlsplit(src).netloc == endpoint and name in src and "X-Amz-Signature" in src, src
    states = _video_states(page, src)
    assert any(s == src and ready >= HAVE_CURRENT_DATA for s, ready in states), states

    href = page.get_by_role("link", name="Download").first.get_attribute("href")
    assert href and urlsplit(href).netloc == endpoint and "response-content-disposition" in href, href
    reply = httpx.get(href)
    assert reply.status_code == 200 and reply.content == data
    assert reply.headers["content-disposition"].startswith('attachment; filename="a-lantern-floats')
    assert SECRET_ACCESS_KEY not in page.content()

    old = httpx.get(f"{url}{config.MEDIA_ROUTE_PREFIX}/{name}")  # a link made before the bucket
    assert old.status_code == 307 and old.content == b""
    assert urlsplit(old.headers["location"]).netloc == endpoint
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "media-bucket-gallery.png"), full_page=True)
    expect(page.get_by_test_id("stException")).to_have_count(0)
