"""Image checks of core/authoring/media.py with real in-memory PNG/JPEG/GIF images made by PIL."""

from __future__ import annotations

import pytest
from images import b64, gif, image_bytes, jpeg, oversized_png, png, png_b64, truncated_png

from core import config
from core.authoring import media

MIN = config.IMAGE_MIN_SIDE_PX


@pytest.mark.parametrize("maker", [png, jpeg], ids=["png", "jpeg"])
def test_a_good_png_or_jpeg_passes_with_its_facts(maker):
    check = media.check_image_bytes(maker((640, 360)))
    assert check.ok and check.problems == ()
    assert (check.width, check.height) == (640, 360)
    assert check.format in config.IMAGE_FORMATS
    assert check.aspect == pytest.approx(640 / 360)
    assert "640×360 px" in check.summary()


@pytest.mark.parametrize(
    ("size", "ok"),
    [
        ((MIN, MIN), True),  # exactly the minimum
        ((MIN - 1, MIN), False),
        ((MIN, MIN - 1), False),
        ((int(MIN * config.IMAGE_MAX_ASPECT), MIN), True),  # exactly 2.5:1
        ((int(MIN * config.IMAGE_MAX_ASPECT) + 1, MIN), False),
        ((MIN, int(MIN * config.IMAGE_MAX_ASPECT)), True),  # exactly 1:2.5
        ((MIN, int(MIN * config.IMAGE_MAX_ASPECT) + 1), False),
    ],
)
def test_size_and_aspect_limits_are_inclusive(size, ok):
    check = media.check_image_bytes(png(size))
    assert check.ok is ok


def test_too_small_names_the_size():
    check = media.check_image_bytes(jpeg((200, 400)))
    assert any("200×400 px" in p and str(MIN) in p for p in check.problems)


def test_aspect_problem_names_the_ratio():
    check = media.check_image_bytes(png((1000, 300)))
    assert any("3.33" in p for p in check.problems)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "WEBP"])
def test_other_formats_are_refused_by_name(fmt):
    check = media.check_image_bytes(image_bytes(fmt))
    assert not check.ok
    assert check.format == fmt
    assert any(fmt in p and "JPG and PNG" in p for p in check.problems)


def test_oversized_file_is_refused_with_its_size():
    data = oversized_png()
    check = media.check_image_bytes(data)
    assert check.format == "PNG"
    assert len(check.problems) == 1
    assert media.human_bytes(len(data)) in check.problems[0]
    assert "10.0 MB" in check.problems[0]


@pytest.mark.parametrize("data", [b"not an image at all", truncated_png()], ids=["junk", "truncated"])
def test_unreadable_bytes_are_reported(data):
    check = media.check_image_bytes(data)
    assert not check.ok and check.format is None
    assert "not a readable image" in check.problems[0]


def test_value_url_is_not_fetched():
    assert media.check_image_value("https://example.com/a.png") is None


def test_value_base64_is_decoded_and_checked():
    good = media.check_image_value(png_b64((500, 500)))
    assert good is not None and good.ok
    bad = media.check_image_value(b64(gif()))
    assert bad is not None and not bad.ok


def test_value_base64_with_surrounding_whitespace_and_line_breaks():
    text = png_b64()
    wrapped = "\n".join(text[i : i + 76] for i in range(0, len(text), 76))
    check = media.check_image_value(f"  {wrapped}\n")
    assert check is not None and check.ok


def test_value_urlsafe_base64_is_accepted():
    import base64

    text = base64.urlsafe_b64encode(png()).decode().rstrip("=")
    check = media.check_image_value(text)
    assert check is not None and check.ok


def test_value_with_data_prefix_is_refused():
    with pytest.raises(ValueError, match="data:"):
        media.check_image_value("data:image/png;base64," + png_b64())


@pytest.mark.parametrize("text", ["hello world!", "ftp://example.com/x.png", "@@@@@@@@@@@@@@@@@@@@"])
def test_value_that_is_neither_url_nor_base64(text):
    with pytest.raises(ValueError, match="neither"):
        media.check_image_value(text)


def test_strip_data_prefix_and_round_trip():
    data = png()
    encoded = media.encode_base64(data)
    assert media.strip_data_prefix("data:image/png;base64," + encoded) == encoded
    assert media.decode_base64(encoded) == data
    assert not media.has_data_prefix(encoded)


def test_human_bytes():
    assert media.human_bytes(512) == "512 B"
    assert media.human_bytes(2048) == "2 KB"
    assert media.human_bytes(3 * 1024 * 1024) == "3.0 MB"
