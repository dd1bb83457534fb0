"""Guest review links (no Streamlit): "Share for review" gives a link that opens one experiment read-only —
the grid, synced playback, the blind vote and timestamped comments — to someone with no account.

    token, link = new_link(ledger, exp.id, who, days=7)     # only the owner or an admin shares
    url = review_url(app_root, token)                        # …/?token=<43 characters>
    link = open_link(ledger, token)                          # LinkRefused: unknown, revoked, expired
    guest = guest_identity(link, "Ana", browser_id)          # an Identity with only the review right
    revoke(ledger, link.id, who)

The token is secrets.token_urlsafe(32) (256 random bits); only its SHA-256 is stored, so the ledger (a
backup, a copy) holds nothing that opens the page. A token of the wrong shape is refused before any lookup;
an unknown, revoked or expired one gets one plain refusal, and the link is checked again on every script run
of the guest's page, so revoking works at the guest's next click.

A guest is identity.Identity(source="guest", id="guest:<link id>:<browser>", scope=<experiment id>):
identity.may_review lets them watch, vote and comment on that one experiment; may_edit / may_delete say no;
making anything (a job, an experiment, a copy, a preset) is refused in core (identity.check_not_guest,
core/engine/rights.py check_sender). The page they reach is the only page the frame registers for them
(streamlit_app.py).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid
from urllib.parse import urlencode

from core import config
from core.compare import experiments
from core.storage.ledger import Ledger
from core.storage.review_store import LinkRow
from core.team import identity as ident

TOKEN_PARAM = "token"
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]+$")
ACTIVE, REVOKED, EXPIRED = "active", "revoked", "expired"
DAY_S = 86400.0

REFUSED_MESSAGE = ("This review link does not work: it may have been mistyped, revoked or expired. Ask the "
                   "person who shared it for a new one.")
GONE_MESSAGE = "The experiment this link was made for is no longer there."


class LinkRefused(PermissionError):
    """A review link that opens nothing (plain words; the same for unknown, revoked and expired)."""


class GuestError(ValueError):
    """A guest's input that cannot be used (plain words)."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def well_formed(token: object) -> bool:
    if not isinstance(token, str):
        return False
    return (config.GUEST_TOKEN_MIN_CHARS <= len(token) <= config.GUEST_TOKEN_MAX_CHARS
            and bool(_TOKEN_SHAPE.match(token)))


def link_state(link: LinkRow, now: float) -> str:
    if link.revoked_at is not None and link.revoked_at <= now:
        return REVOKED
    if now >= link.expires_at:
        return EXPIRED
    return ACTIVE


def new_link(ledger: Ledger, exp_id: str, who: ident.Identity | None, *,
             days: float = config.GUEST_LINK_DAYS_DEFAULT, label: str = "",
             now: float | None = None) -> tuple[str, LinkRow]:
    """A new review link for an experiment: (the token, shown once; the stored row). Only its owner or an
    admin shares it (identity.NotAllowedError otherwise, and for a guest)."""
    ident.check_not_guest(who)
    if ledger.experiments.get_experiment(exp_id) is None:
        raise GuestError(GONE_MESSAGE)
    experiments.check_change(ledger, exp_id, who)
    if not 0 < float(days) <= config.GUEST_LINK_DAYS_MAX:
        raise GuestError(f"A review link lasts 1 to {config.GUEST_LINK_DAYS_MAX} days.")
    t = time.time() if now is None else now
    token = secrets.token_urlsafe(config.GUEST_TOKEN_BYTES)
    row = LinkRow(uuid.uuid4().hex[:16], exp_id, token_hash(token), (who.id if who else "") or "", t,
                  t + float(days) * DAY_S, None, " ".join(str(label or "").split())[:80])
    ledger.reviews.add_link(row)
    return token, row


def open_link(ledger: Ledger, token: object, now: float | None = None) -> LinkRow:
    """The link a token opens, if it still works; LinkRefused otherwise (one message for every reason)."""
    if not well_formed(token):
        raise LinkRefused(REFUSED_MESSAGE)
    link = ledger.reviews.link_by_hash(token_hash(str(token)))
    t = time.time() if now is None else now
    if link is None or link_state(link, t) != ACTIVE:
        raise LinkRefused(REFUSED_MESSAGE)
    if ledger.experiments.get_experiment(link.subject) is None:
        raise LinkRefused(GONE_MESSAGE)
    return link


def links(ledger: Ledger, exp_id: str, who: ident.Identity | None) -> list[LinkRow]:
    """The experiment's review links (for its owner or an admin: they share and revoke them)."""
    ident.check_not_guest(who)
    experiments.check_change(ledger, exp_id, who)
    return ledger.reviews.links(exp_id)


def revoke(ledger: Ledger, link_id: str, who: ident.Identity | None, *, now: float | None = None) -> bool:
    """The link stops working now. Only the experiment's owner or an admin (identity.NotAllowedError)."""
    ident.check_not_guest(who)
    link = ledger.reviews.link(link_id)
    if link is None:
        return False
    experiments.check_change(ledger, link.subject, who)
    return ledger.reviews.revoke_link(link_id, time.time() if now is None else now)


def clean_name(text: object) -> str:
    """A guest's display name: trimmed, capped, plain; GuestError when empty."""
    name = ident.display_name(text if isinstance(text, str) else "", "")
    name = name[: config.GUEST_NAME_MAX_CHARS].strip()
    if not name:
        raise GuestError("Type a name the team will see next to your votes and comments.")
    return name


def guest_identity(link: LinkRow, name: str, browser: str) -> ident.Identity:
    """The guest behind a browser with this link: the review right on the link's experiment only. Their id
    names the link and this browser (so their votes count once per pair, as anyone's)."""
    who = hashlib.sha256(f"{link.id}:{browser}".encode()).hexdigest()[:16]
    return ident.Identity(f"{ident.GUEST_PREFIX}{link.id}:{who}", f"{clean_name(name)} (guest)", ident.GUEST,
                          False, link.subject)


def review_url(app_root: str, token: str) -> str:
    """The link to hand out: the app's root with the token (a guest session's one page is its main page;
    any other path only says "page not found" over the same review page)."""
    return f"{app_root.rstrip('/')}/?{urlencode({TOKEN_PARAM: token})}"


def state_line(link: LinkRow, now: float) -> str:
    """'active until 2026-12-14 06:00 UTC' / 'revoked' / 'expired'."""
    state = link_state(link, now)
    if state == ACTIVE:
        return "active until " + time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(link.expires_at))
    return state


def review_experiment(ledger: Ledger, who: ident.Identity, exp_id: str) -> experiments.Experiment:
    """The experiment a reviewer may see (a guest: only their link's); identity.NotAllowedError otherwise,
    GuestError when it is gone."""
    ident.check_review(who, exp_id)
    exp = experiments.load(ledger, exp_id)
    if exp is None:
        raise GuestError(GONE_MESSAGE)
    return exp
