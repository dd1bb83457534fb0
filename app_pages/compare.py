"""Compare: prompt experiments as a grid (ui/compare_view.py; the logic is core/compare/experiments.py)."""

from ui.compare_view import render_compare_page

render_compare_page()
