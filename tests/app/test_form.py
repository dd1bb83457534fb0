"""The generic form renderer (ui/create/form.py): widgets from the schemas, errors under their fields, the
round trip body → form → body, values that survive hidden fields and endpoint switches.

Most tests drive tests/app/form_harness.py (one endpoint's form, nothing else) with AppTest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Error

from core.authoring import catalog, media
from tests.images import png
from ui import text
from ui.create import fields, form
from ui.create.widgets import shot_sum_message

HARNESS = Path(__file__).parent / "form_harness.py"
URL = "https://example.com/pic-{}.png"


def harness(endpoint_id: str, mode: str | None = None, *, session: dict[str, Any] | None = None,
            **state: Any) -> AppTest:
    """The form harness for this endpoint; `session`: raw session-state keys set before the first run."""
    at = AppTest.from_file(str(HARNESS), default_timeout=20)
    for key, value in (session or {}).items():
        at.session_state[key] = value
    at.session_state["harness.endpoint"] = endpoint_id
    if mode:
        at.session_state["harness.mode"] = mode
    for key, value in state.items():
        at.session_state[f"harness.{key}"] = value
    return at.run()


def prefix(at: AppTest) -> str:
    endpoint = catalog.get(at.session_state["harness.endpoint"])
    mode = at.session_state["harness.mode"] if "harness.mode" in at.session_state else endpoint.modes[0]
    return f"t.{mode}.{endpoint.id}"


def result(at: AppTest) -> dict[str, Any]:
    assert not at.exception, [e.value for e in at.exception]
    return at.session_state["harness.result"]


def flat(node: Any) -> list[Any]:
    out = []
    for child in getattr(node, "children", {}).values():
        out.append(child)
        out.extend(flat(child))
    return out


def assert_error_under(at: AppTest, field_key: str, words: str) -> None:
    """The error mentioning `words` is drawn after the field's widget and before the next field."""
    nodes = flat(at.main)
    keys = [getattr(n, "key", None) for n in nodes]
    start = next(i for i, k in enumerate(keys) if k == field_key or (k or "").startswith(field_key + "."))
    errors = [i for i, n in enumerate(nodes) if isinstance(n, Error) and words in n.value]
    assert errors, f"no error mentioning {words!r}: {[e.value for e in at.error]}"
    pos = errors[0]
    assert pos > start
    between = [k for k in keys[start:pos] if k and "__" not in k and ".upload." not in k
               and not k.endswith(".remove") and not (k == field_key or k.startswith(field_key + "."))]
    assert not between, f"other fields between {field_key} and its error: {between}"


# --- pure parts ------------------------------------------------------------------------------


def test_every_catalog_schema_maps_to_widgets() -> None:
    for endpoint in catalog.ENDPOINTS:
        specs = {s.name: s for s in fields.field_specs(endpoint.schema)}
        assert specs["prompt"].label == "Prompt" and specs["prompt"].widget == "prompt"
        if "duration" in specs:
            assert specs["duration"].widget == "slider" and specs["duration"].default == 5
        if "multi_prompt" in specs:
            assert specs["multi_prompt"].widget == "shots" and specs["multi_prompt"].item_model is not None
        if "elements" in specs:
            assert specs["elements"].widget == "elements"
        if "model" in specs:
            assert not fields.offered(specs["model"], None)  # the fixed model name is never a widget
        orders = [s.order for s in fields.field_specs(endpoint.schema)]
        assert orders == sorted(orders)


def test_image_kinds_follow_the_router() -> None:
    mule = {s.name: s for s in fields.field_specs(catalog.get("mulerouter/kling-v3/image-to-video").schema)}
    assert mule["first_frame"].kind == fields.KIND_IMAGE  # Base64 allowed: uploads go inline
    apimart = {s.name: s for s in fields.field_specs(catalog.get("apimart/kling-v3-omni").schema)}
    assert apimart["image_urls"].item_kind == fields.KIND_IMAGE_URL  # URLs only: uploads go via the router


def test_apimart_fields_follow_the_mode() -> None:
    specs = {s.name: s for s in fields.field_specs(catalog.get("apimart/kling-v3-omni").schema)}
    assert fields.offered(specs["video_list"], "video") and not fields.offered(specs["video_list"], "text")
    assert fields.offered(specs["image_with_roles"], "image")
    assert not fields.offered(specs["image_urls"], "image")
    assert not fields.offered(specs["audio"], "video")


def test_shot_sum_message() -> None:
    assert shot_sum_message([2, 2], 5) == "Shots: 4 s of 5 s — add 1 s"
    assert shot_sum_message([3, 3], 5) == "Shots: 6 s of 5 s — remove 1 s"
    assert shot_sum_message([2, 3], 5) == "Shots: 5 s of 5 s — adds up"


def test_messages_name_their_field() -> None:
    assert form.sentence("is required", "Prompt") == "Prompt is required."
    assert form.sentence("shots add up to 4 s but the video is 5 s", "Shots") == (
        "Shots add up to 4 s but the video is 5 s.")
    assert form.slot_for("multi_prompt.1.duration", {"multi_prompt", "multi_prompt.1"}) == "multi_prompt.1"
    assert form.slot_for("nowhere.0", {"prompt"}) == form.GENERAL
    assert "\\*" in text.escape_markdown("**bold**")


def test_shorten_inline_images_only_touches_base64() -> None:
    b64 = media.encode_base64(png())
    body = {"prompt": "a cat " * 40, "first_frame": b64, "images": [URL.format(1), b64]}
    short = text.shorten_inline_images(body)
    assert short["prompt"] == body["prompt"] and short["images"][0] == URL.format(1)
    assert len(short["first_frame"]) < 100 and str(len(b64)) in short["first_frame"]
    assert body["first_frame"] == b64  # the real body is untouched


# --- drawing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint_id,mode", [(e.id, str(m)) for e in catalog.ENDPOINTS for m in e.modes])
def test_every_endpoint_and_mode_renders(endpoint_id: str, mode: str) -> None:
    at = harness(endpoint_id, mode)
    out = result(at)
    endpoint = catalog.get(endpoint_id)
    for key, value in endpoint.fixed_body:
        assert out["body"][key] == value
    assert at.text_area(key=f"{prefix(at)}.prompt").label == "Prompt"
    if endpoint_id == "mulerouter/kling-v3-omni/reference-to-video":
        # seed 000 marks prompt "string | null": an empty prompt is a caution there, not a problem
        assert out["ok"] and "prompt" in out["cautions"]
    else:
        assert not out["ok"]  # an empty prompt is never enough
    assert not at.error  # errors wait for Generate (show_errors=False)


def test_shots_that_do_not_add_up_show_under_the_shots() -> None:
    # kling-v3: its own page states the sum rule (a problem); on Omni it is a caution since issue 8
    at = harness("mulerouter/kling-v3/text-to-video", show=True)
    p = prefix(at)
    at.toggle(key=f"{p}.multi_shot").set_value(True).run()
    at.segmented_control(key=f"{p}.shot_type").set_value("customize").run()
    assert at.number_input(key=f"{p}.multi_prompt.0.duration").value == 5  # a new shot takes what is left
    at.button(key=f"{p}.multi_prompt.__add").click().run()
    at.text_area(key=f"{p}.multi_prompt.0.prompt").input("Wide shot of a harbour")
    at.number_input(key=f"{p}.multi_prompt.0.duration").set_value(2)
    at.text_area(key=f"{p}.multi_prompt.1.prompt").input("Close-up of a gull")
    at.number_input(key=f"{p}.multi_prompt.1.duration").set_value(2)
    at.run()
    out = result(at)
    assert not out["ok"] and "multi_prompt" in out["errors"]
    assert "Shots: 4 s of 5 s — add 1 s" in [c.value for c in at.caption]
    assert_error_under(at, f"{p}.multi_prompt", "add up")
    at.number_input(key=f"{p}.multi_prompt.1.duration").set_value(3).run()
    out = result(at)
    assert out["ok"], out["errors"]
    assert out["body"]["multi_prompt"] == [
        {"prompt": "Wide shot of a harbour", "duration": 2}, {"prompt": "Close-up of a gull", "duration": 3}]
    assert "prompt" not in out["body"]


def test_apimart_shots_are_numbered_from_one() -> None:
    at = harness("apimart/kling-v3-omni", "text")
    p = prefix(at)
    at.text_area(key=f"{p}.prompt").input("A story")
    at.toggle(key=f"{p}.multi_shot").set_value(True).run()
    at.segmented_control(key=f"{p}.shot_type").set_value("customize").run()
    at.button(key=f"{p}.multi_prompt.__add").click().run()
    at.text_area(key=f"{p}.multi_prompt.0.prompt").input("one")
    at.number_input(key=f"{p}.multi_prompt.0.duration").set_value(2)
    at.text_area(key=f"{p}.multi_prompt.1.prompt").input("two")
    at.number_input(key=f"{p}.multi_prompt.1.duration").set_value(3)
    out = result(at.run())
    assert out["ok"], out["errors"]
    assert [s["index"] for s in out["body"]["multi_prompt"]] == [1, 2]
    assert out["body"]["model"] == "kling-v3-omni"


def test_hidden_shots_keep_their_values() -> None:
    at = harness("mulerouter/kling-v3/text-to-video")
    p = prefix(at)
    at.toggle(key=f"{p}.multi_shot").set_value(True).run()
    at.segmented_control(key=f"{p}.shot_type").set_value("customize").run()
    at.text_area(key=f"{p}.multi_prompt.0.prompt").input("kept while hidden").run()
    at.toggle(key=f"{p}.multi_shot").set_value(False).run()
    at.run()  # a second run: Streamlit would have dropped the unrendered widget's state by now
    assert "multi_prompt" not in result(at)["body"]
    at.toggle(key=f"{p}.multi_shot").set_value(True).run()
    assert at.text_area(key=f"{p}.multi_prompt.0.prompt").value == "kept while hidden"


def test_switching_endpoint_keeps_each_forms_values() -> None:
    at = harness("mulerouter/kling-v3/text-to-video")
    at.text_area(key="t.text.mulerouter/kling-v3/text-to-video.prompt").input("for kling v3").run()
    at.session_state["harness.endpoint"] = "mulerouter/kling-v3-omni/text-to-video"
    at.run()
    at.text_area(key="t.text.mulerouter/kling-v3-omni/text-to-video.prompt").input("for omni").run()
    at.session_state["harness.endpoint"] = "mulerouter/kling-v3/text-to-video"
    at.run()
    assert result(at)["body"]["prompt"] == "for kling v3"
    assert at.text_area(key="t.text.mulerouter/kling-v3/text-to-video.prompt").value == "for kling v3"


def test_small_image_upload_is_checked_at_once_and_blocks() -> None:
    at = harness("mulerouter/kling-v3/image-to-video")
    p = prefix(at)
    at.text_area(key=f"{p}.prompt").input("The kite rises")
    uploader = next(u for u in at.file_uploader if u.key.startswith(f"{p}.first_frame.upload"))
    uploader.set_value(("small.png", png((200, 200)), "image/png"))
    at.run()
    warnings = [x.value for x in at.warning]
    assert any("200×200 px" in x for x in warnings), warnings  # shown before any Generate
    assert any("PNG" in c.value and "200×200" in c.value for c in at.caption)
    out = result(at)
    assert not out["ok"] and "first_frame" in out["errors"]
    assert out["body"]["first_frame"] == media.encode_base64(png((200, 200)))  # bare Base64, no data: prefix
    at.session_state["harness.show"] = True
    at.run()
    assert_error_under(at, f"{p}.first_frame", "200×200")


def test_good_upload_goes_inline_for_mulerouter() -> None:
    at = harness("mulerouter/kling-v3/image-to-video")
    p = prefix(at)
    at.text_area(key=f"{p}.prompt").input("The kite rises")
    next(u for u in at.file_uploader if u.key.startswith(f"{p}.first_frame.upload")).set_value(
        ("kite.png", png((640, 360)), "image/png"))
    out = result(at.run())
    assert out["ok"], out["errors"]
    assert out["body"]["first_frame"] == media.encode_base64(png((640, 360)))
    at.button(key=f"{p}.first_frame.remove").click().run()
    assert "first_frame" not in result(at)["body"]


def fake_uploader(data: bytes, filename: str, content_type: str) -> str:
    return f"https://upload.example.com/{len(data)}/{filename}"


def test_apimart_uploads_go_through_the_uploader() -> None:
    at = harness("apimart/kling-v3", "image", uploader=fake_uploader)
    p = prefix(at)
    at.text_area(key=f"{p}.prompt").input("Waves")
    data = png((640, 360))
    next(u for u in at.file_uploader if u.key.startswith(f"{p}.image_urls.0.upload")).set_value(
        ("sea.png", data, "image/png"))
    out = result(at.run())
    assert out["body"]["image_urls"] == [f"https://upload.example.com/{len(data)}/sea.png"]
    assert out["ok"], out["errors"]


def test_apimart_bad_upload_is_refused_locally() -> None:
    calls = []

    def uploader(data: bytes, filename: str, content_type: str) -> str:
        calls.append(filename)
        return "https://upload.example.com/x.png"

    at = harness("apimart/kling-v3", "image", uploader=uploader, show=True)
    p = prefix(at)
    at.text_area(key=f"{p}.prompt").input("Waves")
    next(u for u in at.file_uploader if u.key.startswith(f"{p}.image_urls.0.upload")).set_value(
        ("tiny.png", png((200, 200)), "image/png"))
    out = result(at.run())
    assert not calls  # a picture the router would refuse is never uploaded
    assert not out["ok"] and "image_urls.0" in out["errors"]
    assert_error_under(at, f"{p}.image_urls.0", "200×200")


def test_eight_references_on_omni_show_under_elements() -> None:
    at = harness("mulerouter/kling-v3-omni/reference-to-video", show=True)
    p = prefix(at)
    at.text_area(key=f"{p}.prompt").input("<<<image_1>>> meets <<<element_1>>>").run()
    for i in range(4):
        if i:
            at.button(key=f"{p}.images.__add").click().run()
        at.text_input(key=f"{p}.images.{i}").input(URL.format(i)).run()
    for i in range(4):
        at.button(key=f"{p}.elements.__add").click().run()
        at.text_input(key=f"{p}.elements.{i}.frontal_image").input(URL.format(f"f{i}"))
        at.text_input(key=f"{p}.elements.{i}.reference_images.0").input(URL.format(f"r{i}"))
        at.run()
    out = result(at)
    assert len(out["body"]["images"]) == 4 and len(out["body"]["elements"]) == 4
    assert not out["ok"] and "elements" in out["errors"]
    assert_error_under(at, f"{p}.elements", "8 references")
    at.button(key=f"{p}.elements.3.__remove").click().run()
    out = result(at)
    assert out["ok"], out["errors"]
    assert [e["frontal_image"] for e in out["body"]["elements"]] == [URL.format(f"f{i}") for i in range(3)]


# --- body → form → body ----------------------------------------------------------------------

ROUND_TRIPS = [
    ("mulerouter/kling-v3-omni/text-to-video", "text", {
        "multi_shot": True, "shot_type": "customize",  # no main prompt: hidden (and not sent) in shots mode
        "multi_prompt": [{"prompt": "a", "duration": 2}, {"prompt": "b", "duration": 4}], "duration": 6,
        "aspect_ratio": "9:16", "mode": "std", "sound": "on", "negative_prompt": "blur",
    }),
    ("mulerouter/kling-v3/image-to-video", "image", {
        "first_frame": "INLINE", "last_frame": URL.format("last"), "prompt": "A kite",
        "elements": [{"type": "image", "frontal_image": URL.format("f"),
                      "reference_images": [URL.format("r")]}],
        "multi_shot": False, "duration": 7, "mode": "pro", "sound": "off",
    }),
    ("apimart/kling-v3-omni", "video", {
        "model": "kling-v3-omni", "prompt": "Restyle @Video1 with @hero",
        "video_list": [{"video_url": "https://example.com/v.mp4", "refer_type": "feature",
                        "keep_original_sound": "yes"}],
        "elements": [{"name": "hero", "description": "a knight",
                      "element_input_urls": [URL.format(1), URL.format(2)]}],
        "multi_shot": False, "duration": 5, "aspect_ratio": "1:1", "mode": "pro", "watermark": True,
    }),
    ("apimart/kling-v3-omni", "image", {
        "model": "kling-v3-omni", "prompt": "From <<<image_1>>> to <<<image_2>>>",
        "image_with_roles": [{"url": URL.format(1), "role": "first_frame"},
                             {"url": URL.format(2), "role": "last_frame"}],
        "multi_shot": False, "duration": 10, "aspect_ratio": "16:9", "mode": "4k", "audio": True,
    }),
]


@pytest.mark.parametrize("endpoint_id,mode,body", ROUND_TRIPS)
def test_load_into_form_round_trips(endpoint_id: str, mode: str, body: dict[str, Any]) -> None:
    body = json.loads(json.dumps(body).replace('"INLINE"', json.dumps(media.encode_base64(png((640, 480))))))
    at = harness(endpoint_id, mode, load=body)
    out = result(at)
    assert out["body"] == body
    assert out["ok"], out["errors"]
    at.run()  # and it stays the same on the next run
    assert result(at)["body"] == body


def test_loading_replaces_what_was_typed() -> None:
    at = harness("mulerouter/kling-v3/text-to-video")
    p = prefix(at)
    at.text_area(key=f"{p}.negative_prompt").input("old text").run()
    new = {"prompt": "new", "multi_shot": False, "duration": 4, "aspect_ratio": "1:1", "mode": "std",
           "sound": "off"}
    at.session_state["harness.load"] = new
    assert result(at.run())["body"] == new


# --- media fixes (ui/create/imagefix_view.py) -------------------------------------------------------------

def _upload(at: AppTest, key_start: str, name: str, data: bytes, kind: str = "image/png") -> AppTest:
    next(u for u in at.file_uploader if u.key.startswith(key_start)).set_value((name, data, kind))
    return at.run()


def _fix_buttons(at: AppTest, field_key: str) -> list[str]:
    return [b.key for b in at.button if (b.key or "").startswith(field_key + ".__fix.")]


@pytest.mark.parametrize("size", [(200, 200), (100, 600), (3000, 300)])
def test_every_offered_fix_yields_an_image_that_passes(size: tuple[int, int]) -> None:
    """MuleRouter (inline Base64): each fix offered for a broken upload, applied, passes every check."""
    endpoint = "mulerouter/kling-v3/image-to-video"
    at = harness(endpoint)
    p = prefix(at)
    at.text_area(key=f"{p}.prompt").input("The kite rises")
    _upload(at, f"{p}.first_frame.upload", "bad.png", png(size))
    field_key = f"{p}.first_frame"
    fixes = _fix_buttons(at, field_key)
    assert fixes, "a broken image is offered at least one fix"
    assert len(at.get("image")) >= 3  # the upload, and a before/after preview per fix
    for fix_key in fixes:
        again = harness(endpoint)
        again.text_area(key=f"{p}.prompt").input("The kite rises")
        _upload(again, f"{p}.first_frame.upload", "bad.png", png(size))
        again.button(key=fix_key).click().run()
        out = result(again)
        data = media.decode_base64(out["body"]["first_frame"])
        check = media.check_image_bytes(data)
        if fix_key.endswith(".all") or len(fixes) == 1:
            assert check.ok, (fix_key, check.problems)
            assert out["ok"], out["errors"]
        else:  # a single fix solves its own problem (others may remain when the image had several)
            assert len(check.problems) < len(media.check_image_bytes(png(size)).problems), (fix_key, check)
        assert not _fix_buttons(again, field_key) or not check.ok


def test_other_formats_are_reencoded_and_pass() -> None:
    from tests.images import image_bytes

    for fmt in ("GIF", "WEBP"):
        at = harness("mulerouter/kling-v3/image-to-video")
        p = prefix(at)
        at.text_area(key=f"{p}.prompt").input("The kite rises")
        # the uploader's type filter is the browser's; a renamed file still arrives as bytes
        _upload(at, f"{p}.first_frame.upload", f"x.{fmt.lower()}", image_bytes(fmt, (640, 360)))
        keys = _fix_buttons(at, f"{p}.first_frame")
        assert keys, fmt
        at.button(key=keys[-1]).click().run()
        out = result(at)
        assert media.check_image_bytes(media.decode_base64(out["body"]["first_frame"])).ok, fmt
        assert out["ok"], out["errors"]


def test_apimart_refused_upload_is_fixed_then_uploaded() -> None:
    calls: list[tuple[str, bytes]] = []

    def uploader(data: bytes, filename: str, content_type: str) -> str:
        calls.append((filename, data))
        return "https://upload.example.com/fixed.jpg"

    at = harness("apimart/kling-v3", "image", uploader=uploader)
    p = prefix(at)
    at.text_area(key=f"{p}.prompt").input("Waves")
    _upload(at, f"{p}.image_urls.0.upload", "tiny.png", png((200, 200)))
    assert not calls
    keys = _fix_buttons(at, f"{p}.image_urls.0")
    assert keys
    at.button(key=keys[0]).click().run()
    assert len(calls) == 1 and media.check_image_bytes(calls[0][1]).ok  # only a passing image is uploaded
    assert calls[0][0].startswith("tiny-fixed.")
    out = result(at)
    assert out["body"]["image_urls"] == ["https://upload.example.com/fixed.jpg"]
    assert out["ok"], out["errors"]


def test_check_url_is_on_demand_and_cached_per_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.create import imagefix_view

    seen: list[str] = []

    def fake_probe(url: str, kind: str) -> str:
        seen.append(url)
        return f"Could not reach {url} within a few seconds."

    monkeypatch.setattr(imagefix_view, "_probe", fake_probe)
    at = harness("mulerouter/kling-v3/image-to-video")
    p = prefix(at)
    at.text_input(key=f"{p}.first_frame").input("https://example.invalid/a.png").run()
    assert not seen  # nothing is fetched until asked
    at.button(key=f"{p}.first_frame.__check").click().run()
    at.run()
    at.run()
    assert seen == ["https://example.invalid/a.png"]  # reruns do not refetch
    assert any("Could not reach" in t.value for t in at.text)
