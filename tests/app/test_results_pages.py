"""The Results pages (Jobs, Gallery) and every page of the app through the real entry script.

Jobs come from the real runner against the `emu` router emulator (failed, moderated, "submission
unknown") or are finished records with a real MP4 in the media cache (bench/pages.py seeding).
Each test has its own data directory, so the app's cached ledger is a fresh one.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bench.pages import finished_job, seed_jobs
from core import config, server
from core.authoring import catalog
from core.engine.runner import refresh_jobs, submit_job
from core.jobs.record import JobState
from core.models import RouterAccess
from core.net.http import make_client
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache
from ui import media_links
from ui.results import jobs_view, library_view

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "streamlit_app.py"
ALL_PAGES = (
    "app_pages/text_to_video.py",
    "app_pages/image_to_video.py",
    "app_pages/references_to_video.py",
    "app_pages/video_to_video.py",
    "app_pages/library.py",
    "app_pages/jobs.py",
    "app_pages/gallery.py",
    "app_pages/settings.py",
)
MR_T2V = "mulerouter/kling-v3/text-to-video"
EMOJI = ("✅", "❌", "⏳", "❓", "🕒", "⚙", "🚫", "⏸")
SETTLE_ROUNDS = 80
SETTLE_PAUSE_S = 0.05


@pytest.fixture
def demo(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Demo mode: no keys anywhere, a private data directory."""
    for name in config.KEY_ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(config.EMULATOR_COMPLETE_AFTER_ENV, "1")
    return data_dir


@pytest.fixture
def live(data_dir: Path, emu, api_key: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Real-router mode against the test emulator: keys in the environment, base URLs pointing at it."""
    for router in config.ROUTERS:
        monkeypatch.setenv(config.KEY_ENV_VARS[router], api_key)
        monkeypatch.setenv(config.BASE_URL_ENV_VARS[router], emu.base_url)
    return data_dir


def open_page(page: str, *, job: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    if job is not None:
        at.query_params["job"] = job
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def runner_job(data_dir: Path, base_url: str, key: str, prompt: str):
    """A job sent by the real runner to the emulator and refreshed until it settles."""
    ledger, media = Ledger(data_dir), MediaCache(data_dir / config.MEDIA_DIRNAME)
    endpoint = catalog.get(MR_T2V)
    access = {r: RouterAccess(router=r, base_url=base_url, key=key) for r in config.ROUTERS}
    with make_client() as client:
        job = submit_job(ledger, media, client, endpoint, {"prompt": prompt, "duration": 5},
                         access[endpoint.router], now=time.time(), sleep=lambda _s: None)
        for _ in range(SETTLE_ROUNDS):
            if job.state not in (JobState.QUEUED, JobState.RUNNING):
                break
            time.sleep(SETTLE_PAUSE_S)
            [job] = refresh_jobs(ledger, media, client, [job], access,
                                 now=job.poll.next_poll_at or time.time(), sleep=lambda _s: None)
    return job


# --- every page -------------------------------------------------------------------------------------


def test_every_page_renders_without_an_exception(demo: Path) -> None:
    seed_jobs(demo, 12)
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception
    for page in ALL_PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert at.title, page


# --- Jobs ---------------------------------------------------------------------------------------------


def test_jobs_page_lists_finished_jobs_in_plain_words(demo: Path) -> None:
    seeded = seed_jobs(demo, 10)
    at = open_page("app_pages/jobs.py")
    table = at.dataframe[0].value
    assert len(table) == 10
    assert list(table["id"]) == [j.id for j in reversed(seeded)]  # newest first
    assert set(table["status"]) == {"done", "failed"}
    assert not any(e in s for s in table["status"] for e in EMOJI)
    assert any("10 jobs" in c.value for c in at.caption)


def test_failed_job_shows_the_routers_reason_and_the_next_step(live: Path, emu, api_key: str) -> None:
    job = runner_job(live, emu.base_url, api_key, "A quiet street at night [emu:moderated]")
    assert job.state == JobState.FAILED
    at = open_page("app_pages/jobs.py", job=job.id)
    assert any("This job failed" in e.value for e in at.error)
    assert any("moderation" in t for t in texts(at)), texts(at)
    assert any("Next step" in i.value and "wording" in i.value for i in at.info)
    assert "failed" in list(at.dataframe[0].value["status"])


def test_retry_asks_first_and_sends_only_after_yes(demo: Path) -> None:
    ledger = Ledger(demo)
    failed = finished_job(MR_T2V, "A kite over the dunes", time.time() - 60, None, failed=True)
    ledger.jobs.add(failed)
    at = open_page("app_pages/jobs.py", job=failed.id)
    at.button(key=f"jobs.retry.{failed.id}").click().run()
    assert any("new job" in w.value for w in at.warning)
    assert ledger.jobs.count() == 1  # asking sends nothing
    at.button(key=f"jobs.retry_no.{failed.id}").click().run()
    assert ledger.jobs.count() == 1 and not at.button(key=f"jobs.retry.{failed.id}").disabled
    at.button(key=f"jobs.retry.{failed.id}").click().run()
    at.button(key=f"jobs.retry_yes.{failed.id}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert ledger.jobs.count() == 2
    [new] = [j for j in ledger.jobs.list() if j.id != failed.id]
    assert new.body == failed.body and new.demo
    assert at.query_params["job"] == new.id  # the new job is the one shown now


def test_track_a_task_follows_a_task_made_elsewhere(live: Path, emu, api_key: str, tmp_path: Path) -> None:
    elsewhere = runner_job(tmp_path / "elsewhere", emu.base_url, api_key, "A lantern festival")
    task_id = elsewhere.task.task_id
    at = open_page("app_pages/jobs.py")
    at.selectbox(key="jobs.track_router").select(config.MULEROUTER).run()
    at.selectbox(key="jobs.track_endpoint").select(MR_T2V).run()
    at.text_input(key="jobs.track_id").input(task_id)
    at.button(key="FormSubmitter:jobs.track_form-Track").click().run()
    assert not at.exception, [e.value for e in at.exception]
    tracked = Ledger(live).jobs.find_by_task(config.MULEROUTER, task_id)
    assert tracked is not None and tracked.state == JobState.QUEUED
    assert at.query_params["job"] == tracked.id
    assert any(c.value == task_id for c in at.code)  # the details show (and copy) the task id


def test_track_a_task_without_an_id_says_so(demo: Path) -> None:
    at = open_page("app_pages/jobs.py")
    at.button(key="FormSubmitter:jobs.track_form-Track").click().run()
    assert any("task id" in e.value for e in at.error)
    assert Ledger(demo).jobs.count() == 0


def test_submission_unknown_job_takes_the_task_id_from_the_dashboard(live: Path, emu, api_key: str) -> None:
    job = runner_job(live, emu.base_url, api_key, "A heron lands [emu:drop_after_create]")
    assert job.state == JobState.SUBMISSION_UNKNOWN
    [made] = [s for s in emu.submissions if s["task_id"]]
    at = open_page("app_pages/jobs.py", job=job.id)
    assert any("dashboard" in i.value for i in at.info)
    at.text_input(key=f"jobs.taskid.{job.id}").input(made["task_id"])
    at.button(key=f"FormSubmitter:jobs.taskid_form.{job.id}-Follow this task").click().run()
    assert not at.exception, [e.value for e in at.exception]
    resolved = Ledger(live).jobs.get(job.id)
    assert resolved.state == JobState.QUEUED and resolved.task.task_id == made["task_id"]


def test_deep_link_opens_that_job_in_a_new_session(demo: Path) -> None:
    seeded = seed_jobs(demo, 5)
    target = seeded[1]
    at = open_page("app_pages/jobs.py", job=target.id)
    assert any(s.value == "Job details" for s in at.subheader)
    assert target.prompt_preview in texts(at)
    assert any(target.id in c.value for c in at.caption)


def test_job_details_play_the_finished_video_from_the_media_route(demo: Path) -> None:
    seeded = seed_jobs(demo, 3)
    target = seeded[0]
    at = open_page("app_pages/jobs.py", job=target.id)
    assert [v.proto.url for v in at.get("video")] == [f"http://localhost:8501/api/media/{target.video_file}"]
    [link] = at.get("link_button")
    name = jobs_view.download_name(target)
    assert link.proto.url == f"http://localhost:8501/api/media/{target.video_file}?download={name}"


def test_library_takes_play_from_the_media_route(demo: Path) -> None:
    [job] = seed_jobs(demo, 1)
    lib = server.services(demo, start=False).library
    lib.save("Lighthouse", job.endpoint_id, job.body)
    lib.link_take("Lighthouse", 1, job.id)
    at = open_page("app_pages/library.py")
    assert at.get("video") == []  # a closed prompt reads and draws nothing of its takes
    at.session_state[library_view.open_key("Lighthouse")] = True  # opened
    at.run()
    assert [v.proto.url for v in at.get("video")] == [f"http://localhost:8501/api/media/{job.video_file}"]


def test_deep_link_to_an_unknown_job_says_so(demo: Path) -> None:
    at = open_page("app_pages/jobs.py", job="nosuchjob")
    assert any("No job with this id" in w.value for w in at.warning)


def test_reload_keeps_the_history(demo: Path) -> None:
    first = open_page("app_pages/text_to_video.py")
    p = f"create.text.{first.session_state['create.text.mulerouter.endpoint']}"
    first.text_area(key=f"{p}.prompt").input("A snail crosses a leaf, reload test").run()
    first.button(key="create.text.__generate").click().run()
    assert Ledger(demo).jobs.count() == 1
    again = open_page("app_pages/jobs.py")  # a fresh session: a reload or a new tab
    assert list(again.dataframe[0].value["prompt"]) == ["A snail crosses a leaf, reload test"]


# --- Gallery ------------------------------------------------------------------------------------------


def test_gallery_shows_finished_videos_newest_first(demo: Path) -> None:
    seeded = seed_jobs(demo, 10)  # one failed: no video
    done = [j for j in reversed(seeded) if j.state == JobState.SUCCEEDED]
    assert len(done) == 9
    at = open_page("app_pages/gallery.py")
    videos = at.get("video")
    assert len(videos) == len(done)
    # played by URL from the app's media route (the browser streams it), not read into Streamlit's memory
    assert [v.proto.url for v in videos] == [f"http://localhost:8501/api/media/{j.video_file}" for j in done]
    assert all(v.proto.url.startswith("http") and "/api/media/sha256-" in v.proto.url for v in videos)
    prompts = [t for t in texts(at) if t.startswith("Seeded scene")]
    assert prompts == [j.prompt_preview for j in done]
    assert [b.label for b in at.button if b.key.startswith("gallery.edit.")] == ["Edit and run again"] * 9
    links = at.get("link_button")
    assert len(links) == 9 and not at.get("download_button")
    assert [b.proto.url for b in links] == [
        f"http://localhost:8501/api/media/{j.video_file}?download={jobs_view.download_name(j)}" for j in done
    ]
    assert any("9 videos" in c.value for c in at.caption)


def test_gallery_filters_by_router_and_text_and_pages(demo: Path) -> None:
    seeded = seed_jobs(demo, 40)
    with_video = [j for j in seeded if j.video_file]
    on_apimart = [j for j in with_video if j.router == config.APIMART]
    assert len(with_video) > 2 * config.GALLERY_PAGE_SIZE and len(on_apimart) > config.GALLERY_PAGE_SIZE
    at = open_page("app_pages/gallery.py")
    assert any(f"{len(with_video)} videos" in c.value and "page 1 of 3" in c.value for c in at.caption)
    at.button(key="gallery.next").click().run()
    assert any("page 2 of 3" in c.value for c in at.caption)
    at.selectbox(key="gallery.router").select(config.APIMART).run()  # a new filter starts at page 1
    assert any(f"{len(on_apimart)} videos" in c.value and "page 1 of 2" in c.value for c in at.caption)
    at.text_input(key="gallery.text").input("scene number 13:").run()
    assert any(c.value.startswith("1 video,") for c in at.caption)
    at.text_input(key="gallery.text").input("no such words").run()
    assert any("match these filters" in i.value for i in at.info)


def test_gallery_edit_and_run_again_opens_the_create_page_filled_in(demo: Path) -> None:
    [job] = seed_jobs(demo, 1)
    at = open_page("app_pages/gallery.py")
    at.button(key=f"gallery.edit.{job.id}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Text to video"
    assert any(t.value == job.body["prompt"] for t in at.text_area)


def test_gallery_edit_of_a_job_deleted_meanwhile_says_so_under_its_button(demo: Path) -> None:
    """'Edit and run again' acts in its click's callback (ui/nav.py); for a job deleted meanwhile (its card
    is gone) the page says so in a toast and stays."""
    jobs = seed_jobs(demo, 2)
    at = open_page("app_pages/gallery.py")
    Ledger(demo).jobs.delete(jobs[0].id)  # another tab, another person
    at.button(key=f"gallery.edit.{jobs[0].id}").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Gallery"
    assert [t.value for t in at.toast] == [jobs_view.GONE]


def test_a_move_recorded_by_a_click_cut_short_is_made_by_the_next_run_of_any_page(demo: Path) -> None:
    """A click's callback records the move (nav.go) as its run begins; if another rerun cuts that run short,
    the frame of the next run makes it (before, `if st.button(...)` + switch_page lost such clicks)."""
    from ui import nav

    at = open_page("app_pages/jobs.py")
    at.session_state[nav.GO_KEY] = ("app_pages/gallery.py", None, time.time())
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Gallery" and nav.GO_KEY not in at.session_state  # made once


# --- pure helpers -------------------------------------------------------------------------------------


def test_download_name_is_meaningful() -> None:
    job = finished_job(MR_T2V, "A Red Fox, at dawn!", 1_790_000_000.0, "sha256-" + "0" * 64 + ".mp4")
    expected = "a-red-fox-at-dawn_mulerouter_kling-v3_text-to-video_20260921-1413.mp4"
    assert jobs_view.download_name(job) == expected


def test_next_step_per_failure() -> None:
    failed = finished_job(MR_T2V, "x", 1_790_000_000.0, None, failed=True)
    assert "wording" in jobs_view.next_step(failed)
    done = finished_job(MR_T2V, "x", 1_790_000_000.0, None)
    assert jobs_view.next_step(done) is None
    balance = failed.model_copy(update={"error": failed.error.model_copy(
        update={"kind": "PaymentRequiredError", "message": "Not enough balance."})})
    assert "Top up" in jobs_view.next_step(balance)


def test_media_links_origin_and_base_path() -> None:
    assert media_links.origin_of("http://127.0.0.1:8501/gallery") == "http://127.0.0.1:8501"
    assert media_links.origin_of("HTTPS://studio.example.com/app/jobs?x=1") == "https://studio.example.com"
    assert media_links.origin_of("javascript:alert(1)") is None
    assert media_links.origin_of("file:///etc/passwd") is None
    assert media_links.origin_of("") is None and media_links.origin_of(None) is None
    assert [media_links.base_path(b) for b in ("", None, "/", "app", "/app/", "a/b")] == [
        "", "", "", "/app", "/app", "/a/b"
    ]


def test_a_move_recorded_long_ago_is_dropped_not_made_by_surprise(demo: Path) -> None:
    import time as clock

    from ui import nav

    at = open_page("app_pages/jobs.py")
    at.session_state[nav.GO_KEY] = ("app_pages/gallery.py", None, clock.time() - nav.STALE_S - 1)
    at.run()  # the person went on to another page since: they stay where they are
    assert at.title[0].value == "Jobs" and nav.GO_KEY not in at.session_state
