"""A picture over the pixel limit on a form: a plain message, fix buttons with no previews (nothing
decodes the picture on a rerun), and a clicked fix that gives a passing image."""

from __future__ import annotations

import pytest
from PIL import Image, ImageFile

from core.authoring import imagefix as fx
from core.authoring import media
from tests.app.test_form import _fix_buttons, _upload, harness, prefix, result
from tests.test_imagefix_limits import flat_png

ENDPOINT = "mulerouter/kling-v3/image-to-video"
MESSAGE = "This picture is 48 megapixels; previews are skipped above 40 MP. Fixes run when you click them."


@pytest.fixture
def big_decodes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Sizes of the pictures over the limit that Pillow decodes (the real decoder still runs)."""
    seen: list[tuple[int, int]] = []
    real = ImageFile.ImageFile.load

    def load(self):
        if self.tile and self.size[0] * self.size[1] > fx.config.IMAGE_FIX_MAX_PIXELS:
            seen.append(self.size)
        return real(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 200_000_000)
    return seen


def _pictures(at) -> list[str]:
    """The raster images on the page (thumbnails, previews), not the camera moves' SVG drawings."""
    urls = [img.url for i in at.get("image") for img in i.proto.imgs]
    return [u for u in urls if not u.startswith("data:image/svg")]


def test_a_big_picture_gets_the_message_and_no_previews(big_decodes) -> None:
    at = harness(ENDPOINT)
    p = prefix(at)
    at.text_area(key=f"{p}.prompt").input("The kite rises")
    _upload(at, f"{p}.first_frame.upload", "wide.png", flat_png(16_000, 3_000))  # 48 MP, aspect 5.3
    assert not at.exception, [e.value for e in at.exception]
    assert [i.value for i in at.info] == [MESSAGE]
    assert _pictures(at) == []  # no thumbnail, no before/after (the camera moves' drawings are SVG)
    field = f"{p}.first_frame"
    assert sorted(_fix_buttons(at, field)) == sorted(f"{field}.__fix.{f}" for f in ("pad", "crop", "all"))
    at.run()  # a rerun decodes nothing either
    assert big_decodes == []

    at.button(key=f"{field}.__fix.crop").click().run()  # the fix runs now, on the click
    assert not at.exception, [e.value for e in at.exception]
    assert len(big_decodes) == 1  # once, for the fix (then reduced)
    out = result(at)
    check = media.check_image_bytes(media.decode_base64(out["body"]["first_frame"]))
    assert check.ok and fx.pixel_count(check) <= fx.config.IMAGE_FIX_MAX_PIXELS
    assert out["ok"], out["errors"]
    assert not _fix_buttons(at, field) and not at.info
