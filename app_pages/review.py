"""Review: what a guest review link opens (ui/compare/review_view.py; the only page of a guest session)."""

from ui.compare.review_view import render_review_page

render_review_page()
