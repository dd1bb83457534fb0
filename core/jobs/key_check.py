"""Connecting an account: where each router hands out keys, and what can be checked of a pasted key
without asking the router (pure, no network).

    KEY_PAGES[router]            (the steps in plain words, the router's page that explains them)
    key_form_problem(key)        what is wrong with the key's form, in plain words (None: looks like a key)
    key_form_caution(key)        a doubt that does not refuse the key (shorter than keys usually are)
    FORM_CHECKED                 what a form check proves (and what it does not)

The cost-free check with the router itself is `core.jobs.providers.test_connection` (asks for a task that
does not exist: 404 means the key was accepted; nothing is started or charged); issue 19 gives it its final
form ("Check key"). `ui.session.check_key` is the one place the Settings page asks for it.
"""

from __future__ import annotations

from core import config

# Where to get a key. MuleRouter: its authentication page ("Sign in to the MuleRouter Console and open the
# API Keys tab … Generate new key"). APIMart: its API reference ("Visit the API Key Management Page to get
# your API Key"; /work/shared/seeds, docs.apimart.ai).
KEY_PAGES: dict[str, tuple[str, str]] = {
    config.MULEROUTER: (
        "Sign in to the MuleRouter console, open the API Keys tab and press Generate new key. MuleRouter "
        "shows the key once: copy it straight away.",
        "https://mulerouter.ai/docs/get-started/authentication",
    ),
    config.APIMART: (
        "Sign in to APIMart and open its API key page (API Key Management), then create a key and copy it.",
        "https://docs.apimart.ai/en/api-reference/videos/kling-v3-omni/generation",
    ),
}

KEY_MIN_CHARS = 16  # shorter than any router key we know of: a key cut short when copied
KEY_MAX_CHARS = 512
FORM_CHECKED = ("Checked here: the key's form only (long enough, no spaces, nothing but plain characters). "
                "The router has not been asked yet.")


def key_form_problem(key: str) -> str | None:
    """What is wrong with the form of a pasted key, in plain words; None when it looks like a key.

    Only the form: a key that passes may still be wrong or have no balance (ask the router for that)."""
    key = key.strip()
    if not key:
        return "Paste a key first."
    if key.lower().startswith("bearer "):
        return "Paste the key alone, without the word “Bearer” in front."
    if any(ch.isspace() for ch in key):
        return "A key has no spaces or line breaks in it: copy it again, the whole key and nothing else."
    if not key.isascii() or not key.isprintable():
        return "This does not look like a key: it has characters a key never has. Copy it again."
    if len(key) > KEY_MAX_CHARS:
        return "This is much longer than a key: copy the key alone."
    return None


def key_form_caution(key: str) -> str | None:
    """A doubt about a key that is still used (it may be right): a key shorter than any router's."""
    key = key.strip()
    if key and len(key) < KEY_MIN_CHARS:
        return (f"This key is only {len(key)} characters long: it may have been cut short when copied. "
                "It is used as it is; check it with the router.")
    return None
