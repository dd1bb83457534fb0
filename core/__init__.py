"""Kling Prompt Studio core: everything below the user interface. Never imports streamlit."""
