"""Kling Prompt Studio: router and frame. Page config, the shared sidebar, navigation, live job view.

`streamlit run streamlit_app.py` finds the `st.App` below and serves it with uvicorn: this module is
then imported once as the server (`core/server.py`: its lifespan starts the job engine and the demo
emulator, its routes serve media), and run as a script (`__name__ == "__main__"`) for every session.

A session opened by a guest review link (`?token=…`, kept for the session: ui/session.py guest_mode) gets
one page, Review, and nothing of the frame (no sidebar, no live job view, no other page to reach by URL);
core refuses a guest everything but reviewing that link's experiment (core/compare/guests.py).
"""

from __future__ import annotations

import streamlit as st

if __name__ != "__main__":  # imported by the server process, once: the ASGI app
    import importlib

    from core import server

    # what the first script run imports (the frame and the default page), imported in the server's start
    # thread while the browser loads the page (issue 21: fast start); numpy and PIL.ImageFile: Streamlit turns
    # the favicon and the logo files into URLs with them; the icon names: the pages' :material/…: icons
    FIRST_PAGE_MODULES = ("ui.frame", "ui.phone", "ui.session", "ui.create.page", "ui.create.storyboard",
                          "ui.improve", "numpy", "PIL.ImageFile", "streamlit.material_icon_names")

    def _warm() -> None:
        for name in FIRST_PAGE_MODULES:
            importlib.import_module(name)

    # Streamlit asks once per process, at the first element a script run draws, whether it runs outside
    # `streamlit run` (delta_generator._maybe_print_use_warning → env_util.is_repl → inspect.stack(), which
    # resolves the path of every loaded module): ~0.1 s of the first page's run with the app's modules
    # loaded (measured with cProfile). This module is the server of `streamlit run`: the answer is known.
    # tests/test_fast_start.py checks that the flag still exists in the installed Streamlit.
    import streamlit.delta_generator as _delta_generator

    _delta_generator._use_warning_has_been_displayed = True

    routes = server.routes(st.get_option("server.baseUrlPath"))  # st.App mounts ours at the root
    app = st.App("streamlit_app.py", routes=routes, lifespan=server.lifespan_with(_warm),
                 middleware=server.middleware())
else:  # a script run of one browser session
    from pathlib import Path

    from ui import frame, live, nav, phone, session

    ASSETS = Path(__file__).resolve().parent / "ui" / "assets"
    # a local favicon: a :material/…: one is fetched from fonts.gstatic.com by the browser
    st.set_page_config(
        page_title="Kling Prompt Studio", page_icon=str(ASSETS / "logo_icon.svg"), layout="wide"
    )

    PAGES = {
        "Create": [
            st.Page(
                "app_pages/text_to_video.py", title="Text to video", icon=":material/edit_note:", default=True
            ),
            st.Page("app_pages/image_to_video.py", title="Image to video", icon=":material/image:"),
            st.Page(
                "app_pages/references_to_video.py", title="References to video", icon=":material/collections:"
            ),
            st.Page("app_pages/video_to_video.py", title="Video to video", icon=":material/video_library:"),
            st.Page("app_pages/library.py", title="Library", icon=":material/bookmarks:"),
        ],
        "Results": [
            st.Page("app_pages/jobs.py", title="Jobs", icon=":material/pending_actions:"),
            st.Page("app_pages/gallery.py", title="Gallery", icon=":material/grid_view:"),
            st.Page("app_pages/compare.py", title="Compare", icon=":material/compare:"),
        ],
        "Studio": [
            st.Page("app_pages/settings.py", title="Settings", icon=":material/settings:"),
        ],
    }

    st.logo(str(ASSETS / "logo.svg"), icon_image=str(ASSETS / "logo_icon.svg"), size="large")
    if session.guest_mode():  # came by a review link (?token=…): the review page alone, no sidebar, ever
        page = st.navigation([st.Page("app_pages/review.py", title="Review", icon=":material/rate_review:",
                                      url_path="review", default=True)], position="hidden")
        with frame.database_outage_shown():
            page.run()
        st.stop()
    page = st.navigation(PAGES)
    nav.follow()  # a move a click's callback recorded (ui/nav.py)
    with frame.database_outage_shown():  # the database not answering: plain words, and it tries again
        frame.sidebar()
        frame.live_jobs()
        with st.sidebar:
            phone.close_sidebar_after_navigation(page.url_path)
        with live.interaction():  # the live reruns of every tab wait for it (issue 21)
            page.run()
