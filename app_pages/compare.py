"""Compare: prompt experiments as a grid (ui/compare/compare_view.py; the logic is
core/compare/experiments.py)."""

from ui.compare.compare_view import render_compare_page

render_compare_page()
