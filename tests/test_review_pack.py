"""core/compare/review_pack.py: the zip's contents, escaping, unseekable output, and flat memory
(tracemalloc)."""

from __future__ import annotations

import hashlib
import io
import re
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from bench.pages import write_real_size_mp4
from core.compare.review_pack import PackCell, prompt_diff_html, video_arcname, write_review_pack

ROOT = Path(__file__).resolve().parents[1]
ASSETS = ROOT / "core" / "emulator" / "assets"
T0 = 1_790_000_000.0
EVIL = '<script>alert("x")</script>'
MB = 1024 * 1024
WORDS = ("calm", "stormy", "foggy")


def make_cells(names: list[str | None], *, evil: bool = False) -> list[PackCell]:
    cells = []
    for i, name in enumerate(names):
        cells.append(PackCell(
            row=["calm", "stormy", EVIL if evil else "foggy"][i % 3], col=["720p", "1080p"][(i // 3) % 2],
            third=None, labels={"take": str(i // 6 + 1)},
            prompt=EVIL if evil and i == 0 else f"A fox runs through a {WORDS[i % 3]} field",
            base_prompt="A fox runs through a field", params={"mode": "pro", "duration": 5, "note": EVIL},
            rating=(i % 5) + 1 if i % 4 else None, note=f"note {i} {EVIL}", cost=0.42, status="done",
            made_by=f"ana {EVIL}", made_at=T0 + i, request={"prompt": EVIL, "duration": 5}, video_name=name,
        ))
    return cells


def build(cells, open_media, out=None, axes=("Wording", "Quality")) -> bytes:
    out = out or io.BytesIO()
    write_review_pack(out, title=f"Fox {EVIL}", axes=list(axes), cells=cells, open_media=open_media,
                      made_at=T0)
    return out.getvalue() if isinstance(out, io.BytesIO) else b""


def asset_opener(mapping: dict[str, Path]):
    return lambda name: mapping[name].open("rb")


def test_every_video_present_and_index_refers_only_to_relative_paths():
    clips = sorted(ASSETS.glob("demo_16x9_*.mp4"))[:4]
    mapping = {f"sha256-{i:064x}.mp4": p for i, p in enumerate(clips)}
    names = [*mapping, None, next(iter(mapping))]  # a cell with no video, a video used twice
    data = build(make_cells(names), asset_opener(mapping))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        listed = zf.namelist()
        assert listed[0] == "index.html"
        assert sorted(listed[1:]) == sorted(f"videos/{n}" for n in mapping), "each video once"
        for name, path in mapping.items():
            info = zf.getinfo(f"videos/{name}")
            assert info.compress_type == zipfile.ZIP_STORED
            assert zf.read(info) == path.read_bytes()
        page = zf.read("index.html").decode()
    assert not re.search(r"https?://", page), "no network address in the page"
    for ref in re.findall(r'(?:src|href)="([^"]*)"', page):
        assert ref.startswith(("videos/", "#")), ref
    for url in re.findall(r'"url": "([^"]*)"', page):
        assert url.startswith("videos/"), url
    assert "Content-Security-Policy" in page
    assert "Full request" in page and "<details>" in page


def test_user_text_is_escaped_everywhere():
    mapping = {"sha256-" + "a" * 64 + ".mp4": ASSETS / "demo_16x9_3s.mp4"}
    page = _index(build(make_cells([*mapping, None, None], evil=True), asset_opener(mapping),
                        axes=("Wording", "Quality")))
    assert EVIL not in page
    assert "<script>alert" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert page.lower().count("<script") == 2, "only the page's own two script blocks"


def test_prompt_diff_marks_words_and_escapes():
    out = prompt_diff_html("a fox in a field", "a red fox in a <b>field</b>")
    assert "<ins> red</ins>" in out
    assert "<del>" in out and "&lt;b&gt;" in out and "<b>" not in out


def test_bad_video_names_are_refused_before_writing():
    for bad in ("../etc/passwd", "a/b.mp4", "", ".hidden", "x" * 300):
        with pytest.raises(ValueError):
            video_arcname(bad)
    out = io.BytesIO()
    with pytest.raises(ValueError):
        write_review_pack(out, title="t", axes=["A"], cells=make_cells(["../x.mp4"]),
                          open_media=lambda n: io.BytesIO(b""), made_at=T0)
    assert out.getvalue() == b""


class Unseekable(io.RawIOBase):
    """A write-only stream with no seek/tell (like a socket or a pipe); keeps what it got."""

    def __init__(self, keep: bool = True):
        self.parts: list[bytes] = []
        self.size = 0
        self.keep = keep

    def writable(self):
        return True

    def write(self, b):
        self.size += len(b)
        if self.keep:
            self.parts.append(bytes(b))
        return len(b)


def test_unseekable_output_makes_a_valid_zip():
    mapping = {f"sha256-{i:064x}.mp4": p for i, p in enumerate(sorted(ASSETS.glob("demo_1x1_*.mp4"))[:3])}
    sink = Unseekable()
    build(make_cells(list(mapping)), asset_opener(mapping), out=sink)
    with zipfile.ZipFile(io.BytesIO(b"".join(sink.parts))) as zf:
        assert zf.testzip() is None
        for name, path in mapping.items():
            got = hashlib.sha256(zf.read(f"videos/{name}")).digest()
            assert got == hashlib.sha256(path.read_bytes()).digest()


def test_three_axes_and_takes_go_to_the_page_data():
    mapping = {"sha256-" + "b" * 64 + ".mp4": ASSETS / "demo_16x9_3s.mp4"}
    cells = make_cells([next(iter(mapping))] * 4)
    for i, c in enumerate(cells):
        c.third = f"v3 {i % 2}"
    page = _index(build(cells, asset_opener(mapping), axes=("Wording", "Quality", "Model")))
    assert '"axes": ["Wording", "Quality", "Model"]' in page
    assert '"v3 0", "v3 1"' in page


def test_peak_memory_stays_flat_with_18_videos_of_20_mb(tmp_path):
    big = tmp_path / "big.mp4"
    write_real_size_mp4(ASSETS / "demo_16x9_10s.mp4", big, 20 * MB, salt=1)
    names = [f"sha256-{i:064x}.mp4" for i in range(18)]
    sink = Unseekable(keep=False)
    tracemalloc.start()
    try:
        write_review_pack(sink, title="Big", axes=["Wording", "Quality"], cells=make_cells(names),
                          open_media=lambda name: big.open("rb"), made_at=T0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.size > 18 * 20 * MB
    assert peak < 50 * MB, f"peak {peak / MB:.1f} MB"


def _index(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read("index.html").decode()
