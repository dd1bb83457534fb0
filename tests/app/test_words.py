"""Issue 9 items 3, 8, 9, 15, 16 where state is enough: the click guard's pure parts, the demo-aware
duplicate question, the welcome's starters filling the form, and the plain vocabulary of the forms."""

from __future__ import annotations

from pathlib import Path

from core import config
from core.authoring import catalog
from core.jobs import guards
from core.models import Mode
from tests.app.test_create_pages import demo, generate, open_page, prefix, session_jobs  # noqa: F401
from ui import welcome
from ui.create import fields
from ui.create import page as create


def test_click_burst_and_request_age() -> None:
    assert guards.is_double_click(("fp", 100.0), "fp", 100.05, create.SUBMIT_GUARD_S)
    burst = create.SUBMIT_GUARD_S
    assert not guards.is_double_click(("fp", 100.0), "fp", 100.0 + burst, burst)
    assert not guards.is_double_click(("fp", 100.0), "other", 100.05)  # a new request is never a double-click
    assert not guards.is_double_click(None, "fp", 1.0)
    assert create.pending_request(100.0, 101.0)
    assert not create.pending_request(100.0, 100.0 + create.REQUEST_TTL_S)
    assert not create.pending_request(True, 1.0)


def test_duplicate_question_says_bills_only_off_demo() -> None:
    assert "bills" not in create.duplicate_message(demo=True)
    assert "bills" in create.duplicate_message(demo=False)


def test_starter_fills_the_image_form(demo: Path) -> None:  # noqa: F811
    at = open_page("text")
    assert at.button(key="welcome.try.image") is not None
    at.button(key="welcome.try.image").click().run()
    assert not at.exception, [e.value for e in at.exception]
    p = prefix(at, "image")
    assert "sailing boat" in at.text_area(key=f"{p}.prompt").value
    assert at.session_state[f"{p}.first_frame.__inline"]  # the bundled picture, inline for MuleRouter
    assert welcome.CLOSED_KEY in at.session_state
    at.switch_page("app_pages/image_to_video.py").run()  # AppTest stays on the old page after switch_page
    generate(at, "image")
    assert any("Job started" in s.value for s in at.success)


def test_welcome_goes_once_this_browser_made_a_job_and_stays_for_a_newcomer(demo: Path) -> None:  # noqa: F811
    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A kite over a beach").run()
    generate(at, "text")
    at.run()
    assert not [b for b in at.button if str(b.key or "").startswith("welcome.try")]
    fresh = open_page("text")  # another browser, on a server that has a job now (issue 16)
    assert [b for b in fresh.button if str(b.key or "").startswith("welcome.try")]


def test_plain_words_in_labels() -> None:
    texts = []
    for endpoint in catalog.ENDPOINTS:
        for spec in fields.field_specs(endpoint.schema):
            texts.append(spec.label)
            texts.extend(spec.labels.values())
    joined = " | ".join(texts)
    for jargon in ("Subjects", "Elements", "Audio", "customize", "intelligence", "first_frame"):
        assert jargon not in joined, jargon
    for plain in ("Characters and objects", "Your shots", "Let Kling plan the shots", "Sound"):
        assert plain in joined, plain
    labels = [e.label for e in catalog.for_mode(config.MULEROUTER, Mode.VIDEO)]
    assert "Video to video" not in labels and len(set(labels)) == len(labels)


def test_pages_lead_with_their_name() -> None:
    omni_i2v = catalog.get("mulerouter/kling-v3-omni/image-to-video").schema
    image = fields.page_order(list(fields.field_specs(omni_i2v)), "image")
    assert image[0].name == "first_frame"
    text = catalog.get("mulerouter/kling-v3-omni/text-to-video").schema
    sections = {s.name: fields.section(s, "text") for s in fields.field_specs(text)}
    assert sections["first_frame"] == sections["elements"] == fields.OPTIONAL
    assert sections["prompt"] == fields.MAIN


def test_a_quick_click_after_a_refusal_is_a_new_click(demo: Path) -> None:  # noqa: F811
    """Generate refused (no prompt), the prompt fixed, Generate again within the double-click window: sent."""
    at = open_page("text")
    generate(at, "text")
    assert any("Nothing was sent" in e.value for e in at.error)
    at.text_area(key=f"{prefix(at, 'text')}.prompt").input("A kite over the dunes at noon").run()
    generate(at, "text")  # well inside the burst window in AppTest: milliseconds later
    assert len(session_jobs(at)) == 1


def test_the_welcome_says_where_the_video_plays() -> None:
    """Issue 16 §1: the take plays on the Create page, under Generate (no longer only in the Gallery)."""
    watch = welcome.STEPS[2]
    assert "under Generate" in watch and "Gallery" not in watch


def test_video_ready_toast_cuts_the_prompt_at_a_word() -> None:
    from ui import frame

    words = "A red kite glides over wheat fields at golden hour, slow pan right over the hills"
    cut = frame.toast_words(words)
    assert cut == "A red kite glides over wheat fields at golden hour, slow pan…"
    assert len(cut) <= frame.TOAST_WORDS_CHARS + 1 and words.startswith(cut[:-1])
    assert frame.toast_words("A short   prompt\n") == "A short prompt"
    assert frame.toast_words("x" * 80).endswith("…") and len(frame.toast_words("x" * 80)) == 61
    assert frame.toast_words("") == ""
