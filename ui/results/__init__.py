"""The results pages: Jobs and Gallery (jobs_view.py: job cards, the table, the video player) and the
Library (library_view.py: saved prompts, their versions and takes, and the panels the Create pages show).

May import: core, streamlit, the shared ui modules. Never ui.create or ui.compare (those use this package).
"""
