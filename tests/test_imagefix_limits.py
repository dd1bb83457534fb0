"""Pictures over config.IMAGE_FIX_MAX_PIXELS: checks and suggestions read only the header, previews
decode nothing, and a clicked fix decodes bounded (a JPEG at a reduced scale, anything else reduced
right after decoding) and gives an image of at most the limit that passes the checks."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, ImageFile

from core import config
from core.authoring import imagefix as fx
from core.authoring import media

LIMIT = config.IMAGE_FIX_MAX_PIXELS


def flat_png(width: int, height: int, grey: int = 200) -> bytes:
    """A one-colour greyscale PNG written row by row: no Pillow image (and no big buffer) is made."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    packer = zlib.compressobj(1)
    row = b"\x00" + bytes([grey]) * width
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The size of every image file Pillow decodes from now on (the real decoder still runs)."""
    seen: list[tuple[int, int]] = []
    real = ImageFile.ImageFile.load

    def load(self):
        if self.tile:  # pixels still to decode
            seen.append(self.size)
        return real(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return seen


@pytest.fixture(autouse=True)
def _quiet_bomb_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 200_000_000)  # 120 MP is under Pillow's bomb error anyway


def test_a_120_mp_picture_is_checked_and_previewed_without_decoding(decodes):
    fine = flat_png(12_000, 10_000)  # 120 MP, every rule met (PNG, small file, aspect 1.2)
    wide = flat_png(30_000, 4_000)  # 120 MP, too wide: pad and crop are suggested
    assert len(fine) < 1_000_000 and len(wide) < 1_000_000
    for data in (fine, wide):
        check = media.check_image_bytes(data)
        assert fx.over_pixel_limit(check) and fx.pixel_count(check) == 120_000_000
        assert fx.pixel_limit_note(check) == ("This picture is 120 megapixels; previews are skipped above "
                                             "40 MP. Fixes run when you click them.")
        for fix_id in (*fx.FIX_IDS, fx.FIX_ALL):
            assert fx.preview_fix(data, fix_id) is None
        assert fx.preview_thumbnail(data) is None
    assert [f.id for f in fx.suggest_fixes(media.check_image_bytes(wide))] == [fx.FIX_PAD, fx.FIX_CROP]
    assert not fx.suggest_fixes(media.check_image_bytes(fine))
    assert decodes == []  # not one pixel decoded


def test_under_the_limit_previews_still_run(decodes):
    data = flat_png(3_000, 300)
    check = media.check_image_bytes(data)
    assert not fx.over_pixel_limit(check) and fx.pixel_limit_note(check) == ""
    after = fx.preview_fix(data, fx.FIX_PAD)
    assert after is not None and media.check_image_bytes(after).ok
    assert fx.preview_thumbnail(data) is not None and decodes


@pytest.mark.parametrize("fix_id", [fx.FIX_PAD, fx.FIX_CROP, fx.FIX_REENCODE, fx.FIX_ALL])
def test_a_clicked_fix_on_a_big_png_is_bounded_and_passes(decodes, fix_id):
    data = flat_png(16_000, 3_000)  # 48 MP, aspect 5.3
    fixed = fx.fix_all(data) if fix_id == fx.FIX_ALL else fx.apply_fix(data, fix_id)
    check = media.check_image_bytes(fixed)
    assert check.ok, check.problems
    assert fx.pixel_count(check) <= LIMIT
    assert len(decodes) == 1  # decoded once (a PNG cannot be decoded at a reduced scale), then reduced


def test_a_clicked_fix_on_a_big_jpeg_decodes_at_a_reduced_scale(decodes):
    img = Image.new("L", (9_000, 5_000), 120)  # 45 MP
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=70)
    del img
    data = buf.getvalue()
    assert fx.preview_fix(data, fx.FIX_REENCODE) is None and decodes == []
    fixed = fx.apply_fix(data, fx.FIX_REENCODE)
    assert media.check_image_bytes(fixed).ok
    assert decodes and max(w * h for w, h in decodes) <= LIMIT  # the decoder never made 45 MP


def test_exif_orientation_survives_the_bounded_decode():
    img = Image.new("RGB", (9_000, 5_000), (10, 120, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated: shown upright as 5000×9000
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=60, exif=exif)
    del img
    out, fmt = fx.open_image(buf.getvalue())
    assert fmt == "JPEG" and out.width < out.height and out.width * out.height <= LIMIT
