"""The four Create pages through the real entry point, in demo mode (the built-in emulator):
a valid Generate makes a job; invalid input shows the error under its field and sends nothing;
duplicates ask first; the request preview masks the key; "Edit and run again" fills the form.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import config
from core.authoring import catalog
from core.storage.ledger import Ledger
from tests.images import png
from ui.create import form
from ui.create import page as create
from ui.results import library_view

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "streamlit_app.py"
GENERATE = {m: f"create.{m}.__generate" for m in ("text", "image", "reference", "video")}
PAGES = {"text": "app_pages/text_to_video.py", "image": "app_pages/image_to_video.py",
         "reference": "app_pages/references_to_video.py", "video": "app_pages/video_to_video.py"}
VIDEO_URL = "https://example.com/source-clip.mp4"


@pytest.fixture
def demo(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Demo mode: no keys anywhere, a private data directory, emulator jobs done in a second."""
    for name in config.KEY_ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(config.EMULATOR_COMPLETE_AFTER_ENV, "1")
    return data_dir


def open_page(mode: str, router: str = config.MULEROUTER) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state["studio.router"] = router
    at.session_state[create.REQUEST_OPEN_KEY] = True  # the Request preview drawn (the exact body, curl)
    at.session_state[library_view.TEMPLATES_OPEN_KEY] = True  # and the templates
    for key in form.GROUP_OPEN_KEYS.values():  # and the Optional and Advanced fields
        at.session_state[key] = True
    at.run()
    at.switch_page(PAGES[mode]).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def prefix(at: AppTest, mode: str) -> str:
    router = at.session_state["studio.router"]
    endpoint_id = at.session_state[create.picker_key(mode, router)]
    return f"create.{mode}.{endpoint_id}"


def jobs_in_ledger(data_dir: Path) -> int:
    return Ledger(data_dir).jobs.count()


def session_jobs(at: AppTest) -> list[str]:
    return list(at.session_state["studio.session_jobs"]) if "studio.session_jobs" in at.session_state else []


def generate(at: AppTest, mode: str) -> AppTest:
    """A click on Generate, later than a double-click after any earlier one (AppTest clicks come fast)."""
    at.session_state[create._k(mode, "clicked")] = None
    at.button(key=GENERATE[mode]).click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def assert_started(at: AppTest) -> None:
    assert len(session_jobs(at)) == 1
    assert any("Job started" in s.value for s in at.success), [s.value for s in at.success]
    assert any("Job started" in t.value for t in at.toast)


def upload(at: AppTest, key_start: str, data: bytes, name: str = "pic.png") -> None:
    next(u for u in at.file_uploader if u.key.startswith(key_start)).set_value((name, data, "image/png"))
    at.run()


def test_text_page_valid_submit_creates_a_job(demo: Path) -> None:
    at = open_page("text")
    assert at.title[0].value == "Text to video"
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A red fox trots through fresh snow").run()
    assert any("demo mode" in m.value for m in at.markdown)  # the estimate says nothing is charged
    generate(at, "text")
    assert_started(at)
    assert jobs_in_ledger(demo) == 1


def test_text_page_shots_that_do_not_add_up_send_nothing(demo: Path) -> None:
    at = open_page("text")
    p = prefix(at, "text")
    at.toggle(key=f"{p}.multi_shot").set_value(True).run()
    at.segmented_control(key=f"{p}.shot_type").set_value("customize").run()
    at.button(key=f"{p}.multi_prompt.__add").click().run()
    for i, text in enumerate(("Harbour at dawn", "A gull takes off")):
        at.text_area(key=f"{p}.multi_prompt.{i}.prompt").input(text)
        at.number_input(key=f"{p}.multi_prompt.{i}.duration").set_value(2)
    at.run()
    generate(at, "text")
    errors = [e.value for e in at.error]
    assert any("add up" in e for e in errors), errors
    assert any("Nothing was sent" in e for e in errors)
    assert not session_jobs(at) and jobs_in_ledger(demo) == 0


def test_image_page_valid_upload_creates_a_job(demo: Path) -> None:
    at = open_page("image")
    p = prefix(at, "image")
    at.text_area(key=f"{p}.prompt").input("The kite climbs into the wind")
    upload(at, f"{p}.first_frame.upload", png((640, 360)), "kite.png")
    generate(at, "image")
    assert_started(at)


def test_image_page_200px_upload_shows_error_and_sends_nothing(demo: Path) -> None:
    at = open_page("image")
    p = prefix(at, "image")
    at.text_area(key=f"{p}.prompt").input("The kite climbs")
    upload(at, f"{p}.first_frame.upload", png((200, 200)), "tiny.png")
    assert any("200×200 px" in w.value for w in at.warning)  # checked at once, before Generate
    generate(at, "image")
    assert any("200×200 px" in e.value for e in at.error), [e.value for e in at.error]
    assert not session_jobs(at) and jobs_in_ledger(demo) == 0


def test_references_page_valid_submit_creates_a_job(demo: Path) -> None:
    at = open_page("reference")
    p = prefix(at, "reference")
    assert at.session_state[create.picker_key("reference", "mulerouter")].endswith("reference-to-video")
    at.text_area(key=f"{p}.prompt").input("<<<image_1>>> walks along the beach")
    upload(at, f"{p}.images.0.upload", png((480, 480)), "ref.png")
    generate(at, "reference")
    assert_started(at)


def test_references_page_eight_references_send_nothing(demo: Path) -> None:
    at = open_page("reference")
    p = prefix(at, "reference")
    at.text_area(key=f"{p}.prompt").input("<<<image_1>>> and friends").run()
    for i in range(4):
        if i:
            at.button(key=f"{p}.images.__add").click().run()
        at.text_input(key=f"{p}.images.{i}").input(f"https://example.com/ref-{i}.png").run()
    for i in range(4):
        at.button(key=f"{p}.elements.__add").click().run()
        at.text_input(key=f"{p}.elements.{i}.frontal_image").input(f"https://example.com/front-{i}.png")
        at.text_input(key=f"{p}.elements.{i}.reference_images.0").input(f"https://example.com/side-{i}.png")
        at.run()
    generate(at, "reference")
    assert any("8 references" in e.value for e in at.error), [e.value for e in at.error]
    assert not session_jobs(at) and jobs_in_ledger(demo) == 0


def test_video_page_valid_submit_creates_a_job(demo: Path) -> None:
    at = open_page("video")
    p = prefix(at, "video")
    at.text_area(key=f"{p}.prompt").input("Same moves, watercolour style")
    at.text_input(key=f"{p}.video").input(VIDEO_URL).run()
    generate(at, "video")
    assert_started(at)


def test_video_page_without_a_video_sends_nothing(demo: Path) -> None:
    at = open_page("video")
    p = prefix(at, "video")
    at.text_area(key=f"{p}.prompt").input("Same moves, watercolour style").run()
    generate(at, "video")
    assert any("Source video" in e.value for e in at.error), [e.value for e in at.error]
    assert not session_jobs(at) and jobs_in_ledger(demo) == 0


def test_apimart_text_submit_and_duplicate_confirmation(demo: Path) -> None:
    at = open_page("text", router=config.APIMART)
    p = prefix(at, "text")
    assert p == "create.text.apimart/kling-v3-omni"
    at.text_area(key=f"{p}.prompt").input("A paper boat on a rainy street").run()
    generate(at, "text")
    assert_started(at)
    generate(at, "text")  # the same request again within a minute: asks first
    assert any("less than a minute ago" in w.value for w in at.warning)
    assert len(session_jobs(at)) == 1
    at.button(key="create.text.__again").click().run()
    assert len(session_jobs(at)) == 2


def test_request_preview_masks_the_key(demo: Path) -> None:
    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A lighthouse at night").run()
    curl = next(c.value for c in at.code if c.value.startswith("curl"))
    assert "$MULEROUTER_API_KEY" in curl and config.DEMO_KEY not in curl
    assert catalog.get("mulerouter/kling-v3/text-to-video").path in curl
    assert at.json[0].value  # the exact body


def test_edit_and_run_again_fills_the_form(demo: Path) -> None:
    body = {"prompt": "Loaded from a job", "negative_prompt": "blur", "multi_shot": False, "duration": 8,
            "aspect_ratio": "9:16", "mode": "pro", "sound": "on"}
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.run()
    at.session_state["studio.pending_form"] = ("mulerouter/kling-v3-omni/text-to-video", body)  # queue_form
    at.switch_page(PAGES["text"]).run()
    endpoint_id = "mulerouter/kling-v3-omni/text-to-video"
    p = f"create.text.{endpoint_id}"
    assert at.session_state[create.picker_key("text", "mulerouter")] == endpoint_id
    assert at.text_area(key=f"{p}.prompt").value == "Loaded from a job"
    assert at.slider(key=f"{p}.duration").value == 8
    generate(at, "text")
    assert_started(at)


def test_pure_helpers() -> None:
    endpoint = catalog.get("apimart/kling-v3-omni")
    curl = create.curl_command(endpoint, "http://127.0.0.1:9", {"model": "kling-v3-omni", "prompt": "it's"})
    assert "$APIMART_API_KEY" in curl and "http://127.0.0.1:9/v1/videos/generations" in curl
    assert "it'\"'\"'s" in curl  # shell-quoted

    class Est:
        total_usd, seconds, rate, basis = 0.448, 5, 0.0896, "5 s × $0.0896/s (APIMart kling-v3-omni pro)"

    line = create.cost_line(Est(), demo=False)
    assert line == "Estimated cost: $0.45 · 5 s × $0.0896/s (APIMart kling-v3-omni pro)"
    assert "nothing is charged in demo mode" in create.cost_line(Est(), demo=True)


def test_the_page_and_the_forms_runs_are_marked_as_a_persons_own(demo: Path, monkeypatch) -> None:
    """The change feed holds the live reruns of every tab while a person's own run goes (issue 21): the whole
    page's run and the form's fragment run are marked as such (ui/live.py interaction)."""
    from core.storage.change_feed import ChangeFeed

    seen: list[bool] = []
    original = ChangeFeed.interaction

    def noted(feed):
        seen.append(True)
        return original(feed)

    monkeypatch.setattr(ChangeFeed, "interaction", noted)
    at = open_page("text")
    seen.clear()
    at.text_area(key=f"{prefix(at, 'text')}.prompt").input("a heron lifts off a misty lake").run()
    assert not at.exception
    assert len(seen) >= 2  # the page's run, and the form's fragment inside it
    from ui import session

    assert not session.services().feed.interacting()  # each mark ends with its run
