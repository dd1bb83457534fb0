"""Issue 9, items 1, 2, 7 and 10 on the Create pages (AppTest, the real entry point in demo mode).

1. Removing or moving a reference image never raises (no StreamlitValueAssignmentNotAllowedError), with
   uploaded, linked and refused pictures in the list, and everything below the list stays drawn.
2. A token of a removed picture becomes <<<removed image>>>: flagged under the prompt, Generate refuses it;
   Undo brings picture and token back; "Take it out of the prompt" removes the mark.
7. A 15 MB picture is taken by the uploader, called too large at its field, and "Make it smaller" gives a
   picture that passes.
10. One heading and one Remove per image, numbered like the tokens in the chips.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core import config
from core.authoring import media
from tests.app.test_create_pages import demo, generate, jobs_in_ledger, open_page, prefix, session_jobs
from tests.images import png

__all__ = ["demo"]
URL = "https://example.com/ref-{}.png"
BIG_MB = 15


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def upload_into(at: AppTest, field_key: str, data: bytes, name: str) -> None:
    next(u for u in at.file_uploader if u.key.startswith(field_key + ".upload")).set_value(
        (name, data, "image/png"))
    at.run()
    no_exception(at)


def big_png(mb: int = BIG_MB) -> bytes:
    """A real PNG of about `mb` MB (random pixels, stored uncompressed)."""
    side = math.isqrt(mb * 1024 * 1024 // 3)
    img = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=0)
    return buf.getvalue()


def fill_three(at: AppTest, p: str) -> None:
    """Image 1 uploaded, image 2 a link, image 3 uploaded."""
    upload_into(at, f"{p}.images.0", png((400, 300)), "one.png")
    at.button(key=f"{p}.images.__add").click().run()
    at.text_input(key=f"{p}.images.1").input(URL.format(2)).run()
    at.button(key=f"{p}.images.__add").click().run()
    upload_into(at, f"{p}.images.2", png((600, 300)), "three.png")


def images_sent(at: AppTest) -> list[str]:
    """The images of the request, each as a short name (file name for uploads, the URL for links)."""
    body = at.json[0].value
    import json

    body = body if isinstance(body, dict) else json.loads(body)
    out = []
    for value in body.get("images") or []:
        out.append(value if media.is_url(value) else f"{len(value)} chars")
    return out


def headings(at: AppTest) -> list[str]:
    return [m.value.strip("*") for m in at.markdown
            if m.value.startswith("*Picture") or "*New picture" in m.value]


def chip_labels(at: AppTest) -> list[str]:
    return [t.value for t in at.text if t.value.startswith("Picture ") and not t.value.endswith("removed.")]


def test_remove_and_move_never_raise_and_the_page_stays_whole(demo: Path) -> None:
    at = open_page("reference")
    p = prefix(at, "reference")
    fill_three(at, p)
    for button in ("images.1.__up", "images.0.__down", "images.2.__up", "images.1.__down",
                   "images.0.__remove", "images.1.__up", "images.0.__remove"):
        at.button(key=f"{p}.{button}").click().run()
        no_exception(at)
        at.run()  # and the run after it (the error used to come on the next draw)
        no_exception(at)
        assert at.button(key="create.reference.__generate")  # Generate is still on the page
    assert len(images_sent(at)) == 1


def test_remove_and_move_with_a_refused_upload_and_its_fixes_in_the_list(demo: Path) -> None:
    """APIMart: a refused picture stays in its item with fix buttons; moving and removing around it is
    safe."""
    at = open_page("reference", config.APIMART)
    p = prefix(at, "reference")
    lst = next(k for k in (f"{p}.image_urls", f"{p}.image_with_roles") if any(
        u.key.startswith(k) for u in at.file_uploader))
    items = sorted({u.key.split(".upload")[0] for u in at.file_uploader if u.key.startswith(lst)})
    upload_into(at, items[0], png((100, 100)), "tiny.png")  # refused: too small; fixes offered
    assert any(b.key.startswith(items[0] + ".__fix") for b in at.button)
    at.button(key=f"{lst}.__add").click().run()
    for key in ("1.__up", "0.__down", "0.__remove"):
        at.button(key=f"{lst}.{key}").click().run()
        no_exception(at)
        at.run()
        no_exception(at)


def test_a_removed_pictures_token_is_flagged_never_re_pointed(demo: Path) -> None:
    at = open_page("reference")
    p = prefix(at, "reference")
    upload_into(at, f"{p}.images.0", png((400, 300)), "cat.png")
    at.button(key=f"{p}.images.__add").click().run()
    at.text_input(key=f"{p}.images.1").input(URL.format(2)).run()
    at.text_area(key=f"{p}.prompt").input("<<<image_1>>> walks up and meets <<<image_2>>>").run()
    at.button(key=f"{p}.images.0.__remove").click().run()
    no_exception(at)
    prompt = at.text_area(key=f"{p}.prompt")
    assert prompt.value == "<<<removed image>>> walks up and meets <<<image_1>>>"  # not image_1 twice
    errors = [e.value.replace("\\", "") for e in at.error]
    assert any("the picture this referred to was removed" in e for e in errors), errors
    assert any(t.value == "Picture 1 (cat.png) was removed." for t in at.text)
    generate(at, "reference")
    assert not session_jobs(at) and jobs_in_ledger(demo) == 0  # Generate refuses it
    # Undo: the picture and its token come back exactly
    at.button(key=f"{p}.images.__undo").click().run()
    no_exception(at)
    assert at.text_area(key=f"{p}.prompt").value == "<<<image_1>>> walks up and meets <<<image_2>>>"
    assert images_sent(at)[1] == URL.format(2) and len(images_sent(at)) == 2
    # remove again, then take the mark out of the prompt: now it can be sent
    at.button(key=f"{p}.images.0.__remove").click().run()
    at.button(key=f"{p}.images.__strip").click().run()
    no_exception(at)
    assert at.text_area(key=f"{p}.prompt").value == "walks up and meets <<<image_1>>>"
    generate(at, "reference")
    assert len(session_jobs(at)) == 1


def test_removing_an_unmentioned_picture_renumbers_the_rest(demo: Path) -> None:
    at = open_page("reference")
    p = prefix(at, "reference")
    fill_three(at, p)
    at.text_area(key=f"{p}.prompt").input("<<<image_2>>> hands <<<image_3>>> a flower").run()
    at.button(key=f"{p}.images.0.__remove").click().run()
    no_exception(at)
    assert at.text_area(key=f"{p}.prompt").value == "<<<image_1>>> hands <<<image_2>>> a flower"
    assert images_sent(at)[0] == URL.format(2)
    assert not [e for e in at.error if "removed" in e.value]


@pytest.mark.parametrize("router,field", [(config.MULEROUTER, "first_frame"), (config.APIMART, None)])
def test_a_15_mb_picture_is_called_too_large_and_made_smaller(demo: Path, router: str,
                                                              field: str | None) -> None:
    at = open_page("image", router)
    p = prefix(at, "image")
    field_key = f"{p}.{field}" if field else next(u.key for u in at.file_uploader).split(".upload")[0]
    data = big_png()
    assert len(data) > config.IMAGE_MAX_BYTES
    upload_into(at, field_key, data, "holiday.png")
    shown = [w.value for w in at.warning] + [e.value for e in at.error]
    assert any("too large: 15.0 MB" in m and "at most 10.0 MB" in m for m in shown), shown
    assert any("bigger picture (up to 50 MB)" in c.value for c in at.caption)
    at.button(key=f"{field_key}.__fix.{'shrink'}").click().run()
    no_exception(at)
    inline = at.session_state[field_key + ".__inline"]
    if media.is_url(inline):  # APIMart: the fixed picture was uploaded to the (emulated) router
        assert "holiday-fixed" in at.session_state[field_key + ".__inline_name"]
    else:
        check = media.check_image_value(inline)
        assert check is not None and check.ok, check
    assert not any("too large" in w.value for w in at.warning)
    at.text_area(key=f"{p}.prompt").input("The waves roll in").run()
    generate(at, "image")
    assert len(session_jobs(at)) == 1  # "First frame is required" no more: the fixed picture was sent


def test_one_heading_one_remove_per_image_numbered_like_the_tokens(demo: Path) -> None:
    at = open_page("reference")
    p = prefix(at, "reference")
    fill_three(at, p)
    removes = [b for b in at.button if b.key.startswith(f"{p}.images.") and b.label == "Remove"]
    assert len(removes) == 3
    assert headings(at) == ["Picture 1", "Picture 2", "Picture 3"]
    assert chip_labels(at) == ["Picture 1", "Picture 2", "Picture 3"]
    # clearing the link of image 2 empties its item: the list and the chips still agree on numbers
    at.text_input(key=f"{p}.images.1").input("").run()
    assert headings(at) == ["Picture 1", "New picture (empty)", "Picture 2"]
    assert chip_labels(at) == ["Picture 1", "Picture 2"]
    at.button(key=f"{p}.images.0.__remove").click().run()
    assert headings(at) == ["New picture (empty)", "Picture 1"]
    assert chip_labels(at) == ["Picture 1"]
    assert len([b for b in at.button if b.key.startswith(f"{p}.images.") and b.label == "Remove"]) == 2


def test_a_button_value_set_from_code_is_dropped_not_shown_as_a_crash(demo: Path) -> None:
    """The safety net: even if some code assigned a list button's key, the page draws (no exception)."""
    at = open_page("reference")
    p = prefix(at, "reference")
    fill_three(at, p)
    at.session_state[f"{p}.images.1.__remove"] = False  # what the old list moves did to a button's key
    at.session_state[f"{p}.images.0.__up"] = False
    at.run()
    no_exception(at)
    assert len([b for b in at.button if b.label == "Remove" and b.key.startswith(f"{p}.images.")]) == 3
