"""First open: a welcome on the Create pages (three steps, demo mode in a sentence, three starters),
and the demo-mode badge every page shows under its title.

    welcome_panel(mode)                 shown to whoever (person or browser) has made no job yet, until
                                        they close it; again after "Getting started" in the sidebar
    reopen_button()                     the sidebar's "Getting started"
    demo_badge()                        "Demo mode · nothing is charged" (also on a phone, sidebar closed)
    starter_body(starter, *, image, video_url) -> dict   the body a starter puts in the form (pure)

A starter fills the form of the first model its page offers on the router in use: fields that model
does not have are left out by the form loader (ui/create/form.py load_into_form).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from core import config
from core.authoring import catalog
from core.models import MODE_TITLES, Mode
from ui import nav, session

ASSETS = Path(__file__).resolve().parent / "assets"
STARTER_IMAGE = ASSETS / "starter_harbour.jpg"
DEMO_CLIP = Path(__file__).resolve().parents[1] / "core" / "emulator" / "assets" / "demo_16x9_5s.mp4"
CLOSED_KEY = "welcome.closed"  # this session closed the welcome (or used a starter)
OPEN_KEY = "welcome.open"  # reopened from the sidebar: shown whatever jobs exist

STEPS = (
    "**Describe** the video: in words, or starting from a picture or a video of yours.",
    "**Generate**: the app checks the request, sends it and follows the job for you.",
    "**Watch and keep** it: the video plays right here under Generate, ready to download or keep in the "
    "Library.",
)
DEMO_SENTENCE = ("You are in demo mode: nothing goes to a real router and nothing is charged; the videos "
                 "are placeholder clips. Add an API key in Settings to make real ones.")


@dataclass(frozen=True)
class Starter:
    mode: Mode
    title: str
    prompt: str
    media: str = ""  # "image": the bundled first frame; "video": the bundled clip (demo mode only)


STARTERS = (
    Starter(Mode.TEXT, "A paper boat in the rain",
            "A paper boat drifts down a rain-soaked street at dusk, neon signs reflected in the puddles; "
            "slow tracking shot at water level, gentle rain sound."),
    Starter(Mode.IMAGE, "Bring a picture to life",
            "The sailing boat glides slowly towards the rising sun, the sail fills with wind, light "
            "glitters on the water.", media="image"),
    Starter(Mode.VIDEO, "Restyle a video",
            "Keep the motion of @Video1 and paint it as a watercolour, soft paper texture.", media="video"),
)


def starter_body(starter: Starter, *, image: str | None = None,
                 video_url: str | None = None) -> dict[str, Any]:
    """The request a starter puts in the form, with every router's name for each field (pure).

    `image`: Base64 (MuleRouter) or an uploaded URL (APIMart) of the first frame; `video_url`: the source
    video. The form loader keeps only the fields of the model in use.
    """
    body: dict[str, Any] = {"prompt": starter.prompt, "duration": config.DURATION_DEFAULT_S,
                            "aspect_ratio": "16:9", "sound": "on", "audio": True}
    if starter.mode == Mode.IMAGE and image:
        body.update(first_frame=image, image_with_roles=[{"url": image, "role": "first_frame"}],
                    image_urls=[image])
    if starter.mode == Mode.VIDEO and video_url:
        body.update(video=video_url, video_list=[{"video_url": video_url, "refer_type": "feature",
                                                 "keep_original_sound": "no"}])
        body.pop("sound")
        body.pop("audio")
    return body


def is_first_visit() -> bool:
    """Show the welcome: reopened from the sidebar, or this person (single-user: this browser) has made no
    job yet and has not closed it. Other people's jobs do not count: a newcomer on a busy server sees it."""
    if st.session_state.get(OPEN_KEY):
        return True
    if st.session_state.get(CLOSED_KEY):
        return False
    try:
        return not session.has_made_a_job()
    except Exception:  # the ledger may be starting: a welcome too many is harmless
        return True


def _image_for(router: str) -> str | None:
    data = STARTER_IMAGE.read_bytes()
    upload = session.uploader_for(router)
    if upload is None:
        return base64.b64encode(data).decode("ascii")
    if not session.is_demo(router):
        return None  # a real router's upload: left to the visitor
    try:
        return upload(data, STARTER_IMAGE.name, "image/jpeg")
    except Exception:  # the emulator may be starting: the prompt alone still helps
        return None


def _video_url(router: str) -> str | None:
    """Demo mode: the bundled clip from the app's own media route (the emulator does not fetch it)."""
    if not session.is_demo(router):
        return None
    from ui import media_links

    try:
        media = session.media()
        name = media.put_bytes(DEMO_CLIP.read_bytes(), "mp4")
        if session.media_is_remote():  # the link goes into a request: it must outlive a short page link
            return media.url(name, expires_s=config.VIDEO_UPLOAD_LINK_TTL_S)
        return media_links.media_url(name)
    except Exception:
        return None


def use_starter(starter: Starter) -> None:
    """Queue the starter's request for its page and open it (a click's callback: ui/nav.py)."""
    router = session.current_router()
    endpoints = catalog.for_mode(router, starter.mode)
    if not endpoints:
        return
    image = _image_for(router) if starter.media == "image" else None
    video = _video_url(router) if starter.media == "video" else None
    session.queue_form(endpoints[0].id, starter_body(starter, image=image, video_url=video))
    st.session_state[CLOSED_KEY] = True
    st.session_state.pop(OPEN_KEY, None)
    nav.go(catalog.MODE_PAGES[starter.mode])


def _close() -> None:
    st.session_state[CLOSED_KEY] = True
    st.session_state.pop(OPEN_KEY, None)


def reopen_button() -> None:
    """In the sidebar: the welcome and its starters again, on the Create page (from any page)."""
    st.button("Getting started", key="welcome.reopen", icon=":material/waving_hand:", type="tertiary",
              help="The three steps and the “Try this” starters again.", on_click=_reopen)


def _reopen() -> None:
    st.session_state[OPEN_KEY] = True
    st.session_state.pop(CLOSED_KEY, None)
    nav.go(catalog.MODE_PAGES[Mode.TEXT])


def welcome_panel(mode: Mode) -> bool:
    """The greeting, once: three steps, demo mode in a sentence, three starters that fill a form. True when
    drawn."""
    if not is_first_visit():
        return False
    demo = session.is_demo(session.current_router())
    with st.container(border=True, key="welcome"):
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown("#### Make your first video in three steps")
            st.button("Close", key="welcome.close", icon=":material/close:", on_click=_close,
                      type="tertiary")
        for n, step in enumerate(STEPS, start=1):
            st.markdown(f"{n}. {step}")
        if demo:
            st.caption(DEMO_SENTENCE)
            st.page_link("app_pages/settings.py", label="Connect your account", icon=":material/key:")
        st.markdown("**Try this** — each fills a form you can change before you press Generate:")
        cols = st.columns(len(STARTERS))
        for col, starter in zip(cols, STARTERS, strict=True):
            with col:
                st.button(starter.title, key=f"welcome.try.{starter.mode}", width="stretch",
                          icon=":material/auto_awesome:", on_click=use_starter, args=(starter,))
                st.caption(MODE_TITLES[starter.mode])
    return True


def demo_badge() -> None:
    """Under the page title: demo mode, said in the page (on a phone the sidebar starts closed)."""
    if session.is_demo(session.current_router()):
        st.badge("Demo mode · nothing is sent to a real router or charged", icon=":material/science:",
                 color="orange")
