"""Library: saved prompts with their versions and takes, diffs, import/export, starter templates."""

from ui.results.library_view import render_library_page

render_library_page()
