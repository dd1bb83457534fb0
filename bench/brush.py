"""Motion brush benchmark: `python bench/brush.py [--runs N]`.

What a canvas edit costs the server: reading the edit (core.authoring.brush_canvas.drawing_from_edit) and
building the masks sent (mask_png, uncached) for a drawing of a still area and 6 moving brushes with 1,500
painted points each and a 77-point path, on a 1280×720 and a 4000×3000 first frame. Also the canvas's copy of
the first frame (preview_data_url, uncached).

Baseline in the same process: decoding the first frame's PNG once (what any use of the picture costs).
Figures are ratios to that baseline, and milliseconds for scale. No target: the form reruns on every click,
so these are paid once per edit, then cached.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from core.authoring import brush_canvas as bc
from core.authoring import media

SIZES = ((1280, 720), (4000, 3000))
CANVAS = (800.0, 450.0)
POINTS_PER_BRUSH = 1500
BRUSHES = 6


def _frame(size: tuple[int, int]) -> bytes:
    grad = Image.linear_gradient("L").resize(size)  # a picture that does not compress to nothing
    img = Image.merge("RGB", (grad, grad.transpose(Image.Transpose.ROTATE_180), grad))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _edit() -> dict:
    def stroke(seed: int) -> dict:
        pts = [[(seed * 37 + i * 3) % CANVAS[0], (seed * 11 + i * 2) % CANVAS[1]]
               for i in range(POINTS_PER_BRUSH)]
        return {"r": 14, "pts": pts}

    path = [[10 + i * 10, 200 + (i % 7) * 5] for i in range(77)]
    return {"canvas": list(CANVAS), "static": [stroke(0)],
            "brushes": [{"strokes": [stroke(b + 1)], "path": path} for b in range(BRUSHES)]}


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    edit = _edit()
    for size in SIZES:
        png = _frame(size)
        b64 = media.encode_base64(png)
        base = _median_ms(lambda png=png: Image.open(io.BytesIO(png)).load(), args.runs)
        drawing = bc.drawing_from_edit(edit, size)
        read = _median_ms(lambda size=size: bc.drawing_from_edit(edit, size), args.runs)
        layers = (drawing.static, *(b.strokes for b in drawing.brushes))

        def build(size: tuple[int, int] = size, layers: tuple = layers) -> list:
            return [bc._mask_png(s, size, None) for s in layers]  # uncached

        masks = _median_ms(build, args.runs)
        copy = _median_ms(lambda b64=b64: bc._preview(b64, 960, False), args.runs)  # uncached
        print(f"{size[0]}×{size[1]}: decode the frame (baseline) {base:.1f} ms")
        points = (BRUSHES + 1) * POINTS_PER_BRUSH + BRUSHES * 77
        print(f"  read the edit ({BRUSHES + 1} brushes, {points:,} points)  {read:.1f} ms = "
              f"{read / base:.2f}× baseline")
        print(f"  build the {BRUSHES + 1} masks  {masks:.1f} ms = {masks / base:.2f}× baseline")
        print(f"  the canvas's copy of the frame  {copy:.1f} ms = {copy / base:.2f}× baseline")


if __name__ == "__main__":
    main()
