"""The media store on both backends: the local folder (media_cache.MediaCache) and an S3-compatible bucket
(core/media_store.S3Media) on a real moto server on loopback (bench/s3.py), fetched with httpx.

Presigned links (Range, Content-Type, Content-Disposition, expiry, no secret), the media route's redirect,
a demo job whose video ends in the bucket through the engine, and video to video through the bucket."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from bench.s3 import ACCESS_KEY_ID, SECRET_ACCESS_KEY
from core import config, server
from core.authoring import catalog
from core.engine import runner
from core.engine.loop import Engine, remove_stale_parts
from core.jobs import access as acc
from core.jobs import providers, uploads
from core.jobs.record import JobState
from core.models import RouterAccess
from core.net.http import make_client
from core.storage import media_route
from core.storage.body_media import externalize_body, internalize_body
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache, content_name
from core.storage.media_store import MediaStoreError, S3Media, is_remote, open_media_store, parse_media_url

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_VIDEO = ROOT / "core" / "emulator" / "assets" / "demo_16x9_3s.mp4"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
MISSING = "sha256-" + "0" * 64 + ".mp4"
START_TIMEOUT_S = 10.0
SETTLE_S = 20.0
PREFIX = config.MEDIA_ROUTE_PREFIX
SIGNATURE_PARAMS = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                    "X-Amz-SignedHeaders", "X-Amz-Signature"}


@pytest.fixture(params=["local", "s3"])
def media(request: pytest.FixtureRequest, tmp_path: Path):
    """The same tests on the local folder and on a bucket."""
    if request.param == "local":
        return MediaCache(tmp_path / config.MEDIA_DIRNAME)
    return request.getfixturevalue("s3_media")


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def _serve(app: Starlette) -> tuple[uvicorn.Server, threading.Thread, str]:
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    srv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.01)
    return srv, thread, f"http://127.0.0.1:{sock.getsockname()[1]}"


# --- the store's methods, on both backends ---------------------------------------------------------------


def test_put_bytes_is_content_addressed_and_stored_once(media) -> None:
    data = SAMPLE_VIDEO.read_bytes()
    name = media.put_bytes(data, "mp4")
    assert name == content_name(data, "mp4")
    assert media.put_bytes(data, ".MP4") == name
    assert media.has(name) and media.read_bytes(name) == data
    with media.open(name) as fh:
        assert fh.read(8) == data[:8]
    assert media.local_path(name).read_bytes() == data
    assert not media.has(MISSING) and not media.has("../ledger.sqlite3") and not media.has("")


def test_missing_and_invalid_names(media) -> None:
    for read in (media.read_bytes, media.open, media.local_path):
        with pytest.raises(FileNotFoundError):
            read(MISSING)
        with pytest.raises(ValueError):
            read("../../etc/passwd")


def test_adopt_file_moves_a_finished_download_in_and_removes_it(media) -> None:
    data = os.urandom(3 * 1024 * 1024)
    tmp = media.temp_path(".part")
    assert tmp.parent == Path(media.dir) and tmp.name.startswith(".part-")
    tmp.write_bytes(data)
    name = media.adopt_file(tmp, "mp4")
    assert name == content_name(data, "mp4") and not tmp.exists()
    again = media.temp_path(".part")
    again.write_bytes(data)
    assert media.adopt_file(again, "mp4") == name and not again.exists()  # already there: just removed
    assert media.read_bytes(name) == data


def test_stale_parts_in_its_dir_are_removed_by_the_engines_sweep(media) -> None:
    tmp = media.temp_path(".part")
    old = time.time() - config.ENGINE_PART_MAX_AGE_S - 60
    os.utime(tmp, (old, old))
    assert remove_stale_parts(Path(media.dir), time.time()) == 1 and not tmp.exists()


def test_bodies_keep_their_images_in_the_store(media) -> None:
    import base64

    body = {"prompt": "A fox", "first_frame": base64.b64encode(PNG).decode()}
    stored = externalize_body(body, media)
    assert stored["first_frame"] == "media:" + content_name(PNG, "png")
    assert internalize_body(stored, media) == body


def test_url_is_none_for_the_local_folder_and_a_link_for_a_bucket(media) -> None:
    name = media.put_bytes(PNG, "png")
    link = media.url(name)
    assert (link is None) == (not is_remote(media))


def test_a_review_pack_streams_its_videos_from_the_store(media) -> None:
    import io
    import zipfile

    from core.compare.review_pack import video_arcname, write_review_pack
    from tests.test_review_pack import make_cells

    data = SAMPLE_VIDEO.read_bytes()
    name = media.put_bytes(data, "mp4")
    out = io.BytesIO()
    write_review_pack(out, title="Fox", axes=["Wording", "Quality"], cells=make_cells([name, name]),
                      open_media=media.open, made_at=1_700_000_000.0)
    with zipfile.ZipFile(out) as pack:
        assert pack.read(video_arcname(name)) == data


# --- presigned links -----------------------------------------------------------------------------------


def test_a_presigned_link_serves_the_video_with_range_and_its_content_type(s3_media: S3Media) -> None:
    data = SAMPLE_VIDEO.read_bytes()
    name = s3_media.put_bytes(data, "mp4")
    link = s3_media.url(name)
    whole = httpx.get(link)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "video/mp4"
    part = httpx.get(link, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    image = s3_media.put_bytes(PNG, "png")
    assert httpx.get(s3_media.url(image)).headers["content-type"] == "image/png"


def test_a_download_link_names_the_file(s3_media: S3Media) -> None:
    name = s3_media.put_bytes(SAMPLE_VIDEO.read_bytes(), "mp4")
    r = httpx.get(s3_media.url(name, download_name="Füchse im Schnee"))
    assert r.status_code == 200
    assert r.headers["content-disposition"] == media_route.content_disposition(
        media_route.download_filename("Füchse im Schnee", "mp4"))
    assert "filename*=UTF-8" in r.headers["content-disposition"]


def test_links_are_short_lived_and_reused_while_young(s3_server, tmp_path: Path, s3_media: S3Media) -> None:
    now = [1_000_000.0]
    media = S3Media(s3_media.bucket, s3_media.prefix, tmp_path / "other", clock=lambda: now[0])
    name = media.put_bytes(PNG, "png")
    first = media.url(name)
    assert _query(first)["X-Amz-Expires"] == [str(config.MEDIA_LINK_TTL_S)]
    assert config.MEDIA_LINK_TTL_S <= 3600 and config.MEDIA_LINK_REUSE_S < config.MEDIA_LINK_TTL_S
    now[0] += config.MEDIA_LINK_REUSE_S - 1
    assert media.url(name) == first  # a player is not reloaded on every rerun
    assert media.url(name, download_name="x") != first
    now[0] += 2
    time.sleep(1.1)  # boto3 signs with the wall clock (to the second): a new link differs
    assert media.url(name) != first
    long = media.url(name, expires_s=config.VIDEO_UPLOAD_LINK_TTL_S)
    assert _query(long)["X-Amz-Expires"] == [str(config.VIDEO_UPLOAD_LINK_TTL_S)]


def test_no_secret_in_a_link_and_the_key_id_only_in_its_credential(s3_media: S3Media) -> None:
    name = s3_media.put_bytes(PNG, "png")
    for link in (s3_media.url(name), s3_media.url(name, download_name="a.png"),
                 s3_media.url(name, expires_s=config.VIDEO_UPLOAD_LINK_TTL_S)):
        assert SECRET_ACCESS_KEY not in link
        query = _query(link)
        assert set(query) >= SIGNATURE_PARAMS
        assert set(query) - SIGNATURE_PARAMS <= {"response-content-type", "response-content-disposition"}
        assert [k for k, v in query.items() if ACCESS_KEY_ID in v[0]] == ["X-Amz-Credential"]
        assert ACCESS_KEY_ID not in urlsplit(link).path and "@" not in urlsplit(link).netloc


def test_links_are_signed_for_the_public_endpoint(s3_server, s3_media: S3Media, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    port = urlsplit(s3_server.endpoint).port
    monkeypatch.setenv(config.MEDIA_PUBLIC_ENDPOINT_ENV, f"http://localhost:{port}/")
    media = S3Media(s3_media.bucket, s3_media.prefix, tmp_path / "public")
    name = media.put_bytes(PNG, "png")  # the servers' own endpoint (127.0.0.1)
    link = media.url(name)
    assert link.startswith(f"http://localhost:{port}/{s3_media.bucket}/{s3_media.prefix}/{name}?")
    assert httpx.get(link).content == PNG


# --- the local copies, the bucket out of reach, configuration ------------------------------------------


def test_local_copies_are_bounded_least_recently_used_first(s3_media: S3Media, tmp_path: Path) -> None:
    media = S3Media(s3_media.bucket, s3_media.prefix, tmp_path / "small", cache_max_bytes=2500)
    names = [media.put_bytes(bytes([i]) * 1000, "mp4") for i in range(3)]
    first = media.local_path(names[0])
    old = time.time() - 100
    os.utime(first, (old, old))
    media.local_path(names[1])
    os.utime(media.local_path(names[1]), (old + 1, old + 1))
    third = media.local_path(names[2])  # 3000 bytes > 2500: the least recently used goes
    assert not first.exists() and third.exists() and (media.cache_dir / names[1]).exists()
    assert media.local_path(names[0]).read_bytes() == bytes([0]) * 1000  # fetched again when needed


def test_a_bucket_out_of_reach_says_so_in_plain_words_and_keeps_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.servers import free_port
    from core.storage.media_store import make_s3_client

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = make_s3_client(f"http://127.0.0.1:{free_port()}")
    media = S3Media("nowhere", "p", tmp_path / "x", client=client)
    assert not media.has(content_name(PNG, "png"))
    with pytest.raises(MediaStoreError) as caught:
        media.put_bytes(PNG, "png")
    assert caught.value.user_message == MediaStoreError.default_message
    tmp = media.temp_path(".part")
    tmp.write_bytes(PNG)
    with pytest.raises(MediaStoreError):
        media.adopt_file(tmp, "png")
    assert tmp.exists()  # the engine's download step removes it and retries later
    assert SECRET_ACCESS_KEY not in repr(caught.value) and SECRET_ACCESS_KEY not in str(caught.value)


@pytest.mark.parametrize("url, expected", [("s3://bucket/a/b/", ("bucket", "a/b")),
                                           ("s3://bucket", ("bucket", ""))])
def test_parse_media_url(url: str, expected: tuple[str, str]) -> None:
    assert parse_media_url(url) == expected


@pytest.mark.parametrize("url", ["https://bucket/x", "s3:///x", "bucket/x", "s3://b/x?y=1"])
def test_parse_media_url_refuses_other_addresses(url: str) -> None:
    with pytest.raises(ValueError, match="s3://bucket/folder"):
        parse_media_url(url)


def test_open_media_store_follows_the_configuration(s3_media: S3Media, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    opened = open_media_store(tmp_path)
    assert isinstance(opened, S3Media) and (opened.bucket, opened.prefix) == (s3_media.bucket, "studio")
    assert opened.dir == tmp_path / config.MEDIA_S3_LOCAL_DIRNAME
    assert isinstance(open_media_store(tmp_path, None), MediaCache)
    monkeypatch.delenv(config.MEDIA_URL_ENV)
    home = tmp_path / "home"
    (home / ".streamlit").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(home)
    assert config.media_url() is None or (ROOT / ".streamlit" / "secrets.toml").exists()
    (home / ".streamlit" / "secrets.toml").write_text(
        f'[media]\nurl = "s3://{s3_media.bucket}/from-secrets"\npublic_endpoint = "http://localhost:9000/"\n')
    assert config.media_url() == f"s3://{s3_media.bucket}/from-secrets"
    assert config.media_public_endpoint() == "http://localhost:9000"
    assert open_media_store(tmp_path).prefix == "from-secrets"


def test_a_bucket_configured_in_the_secrets_alone_works(s3_media: S3Media, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Hosts such as Streamlit Community Cloud take settings only in secrets.toml: the bucket, its endpoint
    and the credentials as top-level entries there work with no AWS variable in the environment."""
    settings = {name: os.environ[name] for name in
                ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    for name in (*settings, "AWS_REGION", config.MEDIA_URL_ENV):
        monkeypatch.delenv(name, raising=False)
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("".join(f'{k} = "{v}"\n' for k, v in settings.items())
                       + f'[media]\nurl = "s3://{s3_media.bucket}/cloud"\n')
    monkeypatch.setenv(config.SECRETS_FILE_ENV, str(secrets))
    store = open_media_store(tmp_path / "data")
    assert isinstance(store, S3Media) and store.prefix == "cloud"
    name = store.put_bytes(b"\x00\x00\x00\x18ftypmp42 secrets-only", "mp4")
    assert store.has(name) and store.read_bytes(name).endswith(b"secrets-only")
    link = store.url(name)
    assert urlsplit(link).netloc == urlsplit(settings["AWS_ENDPOINT_URL"]).netloc
    assert httpx.get(link).content.endswith(b"secrets-only")


# --- the media route: a redirect, never the bytes ---------------------------------------------------------


def test_the_media_route_redirects_to_a_fresh_presigned_link(s3_media: S3Media) -> None:
    data = SAMPLE_VIDEO.read_bytes()
    name = s3_media.put_bytes(data, "mp4")
    srv, thread, base = _serve(Starlette(routes=media_route.media_routes(lambda: s3_media)))
    try:
        r = httpx.get(f"{base}{PREFIX}/{name}?download=fox.mp4")
        assert r.status_code == 307 and r.content == b""  # no byte of the video through the app
        assert r.headers["cache-control"] == "no-store"
        link = r.headers["location"]
        assert urlsplit(link).netloc == urlsplit(os.environ["AWS_ENDPOINT_URL"]).netloc
        followed = httpx.get(f"{base}{PREFIX}/{name}", follow_redirects=True, headers={"Range": "bytes=0-9"})
        assert followed.status_code == 206 and followed.content == data[:10]
        assert 'filename="fox.mp4"' in httpx.get(link).headers["content-disposition"]
        assert httpx.head(f"{base}{PREFIX}/{name}").status_code == 307
        assert httpx.get(f"{base}{PREFIX}/{MISSING}").status_code == 404
        assert httpx.get(f"{base}{PREFIX}/..%2Fx.mp4").status_code == 404
        assert httpx.get(f"{base}{PREFIX}/sha256-{'1' * 64}.exe").status_code == 404
    finally:
        srv.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)


def test_the_server_uses_the_bucket_when_configured(s3_media: S3Media, data_dir: Path) -> None:
    store = server.media_cache()
    assert isinstance(store, S3Media) and store.bucket == s3_media.bucket and store is server.media_cache()
    assert server.services(data_dir, start=False).media is store
    name = store.put_bytes(PNG, "png")
    srv, thread, base = _serve(Starlette(routes=server.routes()))
    try:
        assert httpx.get(f"{base}{PREFIX}/{name}", follow_redirects=True).content == PNG
    finally:
        srv.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)


# --- end to end against the emulator -------------------------------------------------------------------


FAST_SCHEDULE = {"POLL_FIRST_DELAY_S": 0.2, "POLL_MIN_INTERVAL_S": 0.1, "POLL_MAX_INTERVAL_S": 0.5,
                 "POLL_NEAR_DONE_INTERVAL_S": 0.2, "POLL_WINDOW_INTERVAL_S": 0.2, "POLL_TYPICAL_DONE_S": 0.5,
                 "POLL_TYPICAL_LATE_S": 1.0, "POLL_ERROR_BACKOFF_BASE_S": 0.2}


def _demo(emu, router: str = config.MULEROUTER) -> RouterAccess:
    return RouterAccess(router=router, base_url=emu.base_url, key=config.DEMO_KEY, demo=True)


def test_a_demo_jobs_video_ends_in_the_bucket_with_nothing_left_behind(
        emu, s3_media: S3Media, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAST_SCHEDULE.items():
        monkeypatch.setattr(config, name, value)
    emu.set_complete_after(0.3)
    ledger, client, demo = Ledger(tmp_path), make_client(), _demo(emu)
    endpoint = catalog.get("mulerouter/kling-v3/text-to-video")
    job = runner.submit_job(ledger, s3_media, client, endpoint, {"prompt": "A red fox runs", "duration": 5},
                            demo, now=time.time(), sleep=lambda _s: None, access_id=acc.demo_id(emu.base_url))
    engine = Engine(ledger, s3_media, client, demo=demo, tick_s=0.05).start()
    try:
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline and not ledger.jobs.get(job.id).video_file:
            time.sleep(0.05)
    finally:
        engine.stop()
        client.close()
    done = ledger.jobs.get(job.id)
    assert done.state == JobState.SUCCEEDED and done.video_file, (done.state, done.poll.last_error)
    key = s3_media.key(done.video_file)
    head = s3_media._client.head_object(Bucket=s3_media.bucket, Key=key)
    assert head["ContentType"] == "video/mp4" and head["ContentLength"] > 0
    assert not [p for p in Path(s3_media.dir).iterdir() if p.is_file()]  # the temp folder is empty
    assert httpx.get(s3_media.url(done.video_file)).content[4:8] == b"ftyp"


def test_video_to_video_goes_through_the_bucket_with_a_temporary_link(emu, s3_media: S3Media) -> None:
    demo = _demo(emu)
    target = uploads.video_upload_target(demo, s3_media)
    assert target is not None and target.kind == uploads.MEDIA_STORE and target.key == ""
    assert "temporary" in uploads.temporary_link_note(target)
    data = SAMPLE_VIDEO.read_bytes()
    with make_client() as client:
        link = uploads.upload_video(client, target, data, "harbour.MOV", media=s3_media)
        assert _query(link)["X-Amz-Expires"] == [str(config.VIDEO_UPLOAD_LINK_TTL_S)]
        fetched = httpx.get(link)  # what the router does
        assert fetched.content == data and fetched.headers["content-type"] == "video/quicktime"
        assert s3_media.has(content_name(data, "mov"))
        endpoint = catalog.get("mulerouter/kling-v3-omni/reference-video-to-video")
        body = {"prompt": "Make it a watercolour", "video": link, "duration": 5}
        ref, _ = providers.submit(client, endpoint, body, demo)
    assert ref.task_id and emu.submissions[-1]["body"]["video"] == link
    assert SECRET_ACCESS_KEY not in str(emu.submissions[-1])


def test_without_a_bucket_uploads_stay_as_today(emu, tmp_path: Path) -> None:
    local = MediaCache(tmp_path / "media")
    assert uploads.video_upload_target(_demo(emu), local).kind == uploads.EMULATOR
    real = RouterAccess(router=config.MULEROUTER, base_url="https://api.mulerouter.ai", key="k" * 20)
    assert uploads.video_upload_target(real, local) is None
    assert uploads.temporary_link_note(None) == ""
