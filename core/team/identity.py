"""Who is using the app (no Streamlit): the person behind a browser session, and what they may do.

Three sources, in this order (issue 11 §3):

    login       Streamlit's built-in login (st.login / st.user, OpenID Connect), used when the operator
                configured it: an `[auth]` section in .streamlit/secrets.toml (Streamlit's own convention;
                Streamlit then gives st.user an `is_logged_in` flag). The person is the e-mail, else `sub`.
    header      a header set by a trusted reverse proxy (e.g. oauth2-proxy's X-Forwarded-Email), honoured
                ONLY when its name is configured: STUDIO_TRUSTED_HEADER, else `[team] trusted_header`.
                Without that setting the header is ignored, whoever sends it. With it, the header is honoured
                only from the proxy's own address (STUDIO_TRUSTED_PROXIES, else `[team] trusted_proxies`;
                default this machine's loopback): `header_refusal` says why a request is refused when
                it carries the header from anywhere else, or more than once (core/server.py's
                TrustedHeaderGuard refuses it before Streamlit sees it).
    single      neither configured: one person, id "" (the app as it always was).

When login or a trusted header is configured and no valid person comes with the request, the identity has
`needs_login`: nothing is usable until the person logs in (no fallback to single-user, which would let a
request that bypassed the proxy act as anyone).

Admins (`[team] admins = ["a@b.c", …]`) may delete what others made. Everyone may watch and reuse
everything; only the owner or an admin may delete (`may_delete`, checked again by `delete_job` and
`delete_experiment` below, whatever the page showed), and only they change or run an experiment
(`may_edit`, checked again by core/compare/experiments.py); everyone else makes their own copy.

Guests (issue 18): someone who opened a review link (core/compare/guests.py) is an Identity with source
"guest", an id "guest:<link>:<browser>" and `scope` = the one experiment the link opens. They hold only the
review right (`may_review`: watch, vote, comment on that experiment): may_edit / may_delete say no, making
anything is refused (`check_not_guest`: experiments, copies, presets; core/engine/rights.py refuses a job
whose owner is a guest), and a login or proxy header naming a "guest:" id is not taken as a person.
"""

from __future__ import annotations

import ipaddress
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import config, secrets_file

LOGIN, HEADER, SINGLE, GUEST = "login", "header", "single", "guest"
GUEST_PREFIX = "guest:"  # a guest's id (core/compare/guests.py); never an owner of anything
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Identity:
    """The person behind a session. `id` is what jobs record as their owner ("" in single-user mode)."""

    id: str = ""
    name: str = ""
    source: str = SINGLE
    is_admin: bool = False
    scope: str = ""  # a guest: the one experiment their review link opens (nothing else)

    @property
    def needs_login(self) -> bool:
        """Login or a trusted header is configured, and nobody (valid) came with this request."""
        return self.source != SINGLE and not self.id

    @property
    def single_user(self) -> bool:
        return self.source == SINGLE

    @property
    def is_guest(self) -> bool:
        """Someone who came by a review link (no account): they may watch, vote and comment on one
        experiment, and nothing else (may_review)."""
        return self.source == GUEST or self.id.startswith(GUEST_PREFIX)

    @property
    def label(self) -> str:
        """How the person is shown: their name and e-mail when both are known."""
        if self.name and self.name != self.id:
            return f"{self.name} ({self.id})"
        return self.id


SINGLE_USER = Identity()


@dataclass(frozen=True)
class TeamSettings:
    login_configured: bool = False  # an [auth] section exists in the secrets
    trusted_header: str = ""  # the header's name, "" = not honoured
    admins: frozenset[str] = field(default_factory=frozenset)
    # the addresses the header is honoured from (the proxy's); default this machine's loopback
    trusted_proxies: tuple[Network, ...] = field(default_factory=lambda: parse_proxies(""))


# --- reading the operator's secrets (the files core/jobs/access.py reads) -----------------------------------


def secrets_data(files: Iterable[Path] | None = None) -> dict[str, Any]:
    """The operator's secrets, tables included (core/secrets_file.py secrets_data: $STUDIO_SECRETS_FILE alone
    when set, else where Streamlit looks)."""
    return secrets_file.secrets_data(files)


def section(data: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A table of the secrets (e.g. "team", "budget"); {} when missing or not a table."""
    value = data.get(name)
    return dict(value) if isinstance(value, Mapping) else {}


def parse_proxies(value: str | Iterable[str]) -> tuple[Network, ...]:
    """The trusted proxies from "10.0.0.7, 172.30.0.0/24, ::1" (or a list of such entries); empty: this
    machine's loopback (config.TRUSTED_PROXIES_DEFAULT). An entry that is not an address or network (a host
    name, a typo) is dropped: it never widens who is trusted, and with no valid entry nobody is."""
    entries = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    entries = [e.strip() for e in entries if e.strip()]
    if not entries:
        entries = list(config.TRUSTED_PROXIES_DEFAULT)
    found: list[Network] = []
    for entry in entries:
        try:
            found.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return tuple(found)


_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")


def team_settings(data: Mapping[str, Any] | None = None) -> TeamSettings:
    """The operator's identity settings: environment first (STUDIO_TRUSTED_HEADER, STUDIO_TRUSTED_PROXIES),
    then the secrets."""
    data = secrets_data() if data is None else data
    team = section(data, "team")
    header = os.environ.get(config.TRUSTED_HEADER_ENV, "").strip() or str(team.get("trusted_header") or "")
    header = header.strip()
    if not _HEADER_NAME.match(header):
        header = ""  # no name, or not a header name: not honoured
    admins = team.get("admins") or []
    if isinstance(admins, str):
        admins = [admins]
    ids = {normalise(a) for a in admins if isinstance(a, str)}
    proxies: Any = os.environ.get(config.TRUSTED_PROXIES_ENV, "").strip() or team.get("trusted_proxies") or ""
    if not isinstance(proxies, str | list | tuple):
        proxies = ""
    return TeamSettings(
        login_configured=bool(section(data, "auth")),
        trusted_header=header,
        admins=frozenset(i for i in ids if i),
        trusted_proxies=parse_proxies(proxies),
    )


# --- who -------------------------------------------------------------------------------------------------


def normalise(value: Any) -> str:
    """A person's id as stored: trimmed, Unicode-normalised, e-mails lower-cased; "" when unusable
    (empty, too long, control characters or spaces inside). Never truncated: two long ids must not
    collide into one person."""
    if not isinstance(value, str):
        return ""
    text = unicodedata.normalize("NFKC", value).strip()
    if not text or len(text) > config.IDENTITY_MAX_CHARS:
        return ""
    if any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in text):
        return ""
    return text.lower() if "@" in text else text


def display_name(value: Any, fallback: str) -> str:
    """A name to show (plain text, capped); the id when there is none."""
    if not isinstance(value, str):
        return fallback
    text = " ".join(unicodedata.normalize("NFKC", value).split())
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    return text[: config.IDENTITY_NAME_MAX_CHARS] or fallback


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """A header's value, its name matched without regard to case (HTTP header names are case-blind)."""
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            return value if isinstance(value, str) else None
    return None


def _login_in_use(login_user: Mapping[str, Any] | None, settings: TeamSettings) -> bool:
    """Streamlit gives st.user an `is_logged_in` flag only when [auth] is configured."""
    return settings.login_configured or (login_user is not None and "is_logged_in" in login_user)


def resolve(login_user: Mapping[str, Any] | None, headers: Mapping[str, str],
            settings: TeamSettings) -> Identity:
    """The person behind a session: the logged-in user (when login is configured), else the trusted
    header (only when its name is configured), else single-user."""
    if _login_in_use(login_user, settings):
        user = login_user or {}
        if not user.get("is_logged_in"):
            return Identity(source=LOGIN)
        person = normalise(user.get("email")) or normalise(user.get("sub"))
        person = "" if person.startswith(GUEST_PREFIX) else person  # the guest prefix is ours alone
        return Identity(person, display_name(user.get("name"), person), LOGIN,
                        bool(person) and person in settings.admins)
    if settings.trusted_header:
        person = normalise(header_value(headers, settings.trusted_header))
        person = "" if person.startswith(GUEST_PREFIX) else person
        return Identity(person, person, HEADER, bool(person) and person in settings.admins)
    return SINGLE_USER


# --- who may name a person: the proxy, once (issue 20 item 4) ---------------------------------------------


@dataclass(frozen=True)
class HeaderRefusal:
    """A request refused before the app sees it: its HTTP status and the plain words shown."""

    status: int
    message: str


FOREIGN_HEADER_MESSAGE = (
    "Refused: this request names who you are in the {header} header, but it did not come from the team's "
    "sign-in proxy, the only one allowed to set it. Open the app at the team's usual address. (Operator: the "
    "proxy's address must be listed in STUDIO_TRUSTED_PROXIES; this request came from {peer}.)"
)
REPEATED_HEADER_MESSAGE = (
    "Refused: this request names who you are more than once (the {header} header is there {count} times, "
    "or holds a list). The sign-in proxy must replace that header, not add to one the browser sent."
)


def from_trusted_proxy(peer: str | None, settings: TeamSettings) -> bool:
    """The TCP peer is one of the operator's proxies (no peer known, or not an address: no)."""
    if not peer:
        return False
    try:
        address = ipaddress.ip_address(peer.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:10.0.0.7 from a dual-stack socket is 10.0.0.7
    return any(address.version == net.version and address in net for net in settings.trusted_proxies)


def header_refusal(peer: str | None, values: Sequence[str], settings: TeamSettings) -> HeaderRefusal | None:
    """Why a request carrying the identity header `values` (every occurrence, in order) from `peer` must be
    refused, or None when it may go on. Only when a trusted header is configured (otherwise nobody reads it):
    the header twice (or a comma list: a proxy that appends lets the browser's value through) is refused
    from anyone; once, it is honoured only from a trusted proxy. No header at all goes on (sign-in is
    asked as before)."""
    if not settings.trusted_header or not values:
        return None
    header = settings.trusted_header
    if len(values) > 1 or any("," in v for v in values):
        return HeaderRefusal(400, REPEATED_HEADER_MESSAGE.format(header=header, count=len(values)))
    if not from_trusted_proxy(peer, settings):
        words = FOREIGN_HEADER_MESSAGE.format(header=header, peer=peer or "an unknown address")
        return HeaderRefusal(403, words)
    return None


# --- rights ----------------------------------------------------------------------------------------------


class NotAllowedError(PermissionError):
    """This person may not do that to something another person made (plain words)."""


NOT_YOURS_MESSAGE = "Only {owner} or an admin can delete this."
ACTIVE_MESSAGE = "This job is still on its way; stop it or wait until it ends before deleting it."
COUNTED_MESSAGE = ("This job counts in today's spend against the daily budget, so it stays until the budget "
                   "resets; you can delete it then.")


def may_delete(who: Identity, owner: str) -> bool:
    """Everyone may watch and reuse; only the owner (or an admin) may delete. Single-user: all one person.
    Something made before owners were recorded (owner "") belongs to admins in a team. A guest: nothing."""
    if who.is_guest:
        return False
    if who.single_user:
        return True
    if who.needs_login:
        return False
    return who.is_admin or (bool(owner) and owner == who.id)


def may_edit(who: Identity, owner: str) -> bool:
    """Change or run something another person made (an experiment's axes, takes, reviews, Run all): the
    same people who may delete it (the owner or an admin; everyone in single-user mode). Everyone else
    watches it and makes their own copy."""
    return may_delete(who, owner)


NOT_YOURS_EDIT_MESSAGE = ("This is {owner}'s experiment: only they or an admin can change or run it. "
                          "Make your own copy to try things with it.")
NOBODYS_EDIT_MESSAGE = ("This experiment was made before sign-in was set up: only an admin can change or run "
                        "it. Make your own copy to try things with it.")


def edit_refusal(owner: str) -> str:
    return NOT_YOURS_EDIT_MESSAGE.format(owner=owner) if owner else NOBODYS_EDIT_MESSAGE


def check_edit(who: Identity, owner: str) -> None:
    """Raises NotAllowedError (plain words) when `who` may not change or run what `owner` made."""
    if not may_edit(who, owner):
        raise NotAllowedError(edit_refusal(owner))


GUEST_ONLY_REVIEW_MESSAGE = ("A review link lets you watch, vote and comment on the experiment it was shared "
                             "for, nothing else.")


def may_review(who: Identity, exp_id: str) -> bool:
    """Watch, vote and comment on an experiment: everyone identified (single-user included); a guest only on
    the experiment their link opens; nobody who still needs to log in."""
    if who.is_guest:
        return bool(who.scope) and who.scope == exp_id
    return not who.needs_login


def check_review(who: Identity, exp_id: str) -> None:
    if not may_review(who, exp_id):
        raise NotAllowedError(GUEST_ONLY_REVIEW_MESSAGE if who.is_guest else "Log in first.")


def check_not_guest(who: Identity | None) -> None:
    """Raises NotAllowedError for a guest: making things (jobs, experiments, copies, presets) is for the
    team."""
    if who is not None and who.is_guest:
        raise NotAllowedError(GUEST_ONLY_REVIEW_MESSAGE)


def owner_words(owner: str) -> str:
    return owner or "nobody in particular (made before sign-in was set up)"


def check_delete(who: Identity, owner: str) -> None:
    if not may_delete(who, owner):
        raise NotAllowedError(NOT_YOURS_MESSAGE.format(owner=owner or "an admin"))


def delete_job(ledger: Any, job_id: str, who: Identity, *, counted_since: float | None = None) -> bool:
    """Delete a job from the history, if `who` may (raises NotAllowedError otherwise). A job still in
    flight is refused (its task runs on at the router and would be lost), and so is a job that counts in
    the budget's day (made at/after `counted_since`, with a charge): deleting it would lower the spend.
    True when it was deleted."""
    from core.jobs import record as jobs

    job = ledger.jobs.get(job_id)
    if job is None:
        return False
    check_delete(who, getattr(job, "owner", ""))
    if job.state in jobs.ACTIVE_STATES:
        raise NotAllowedError(ACTIVE_MESSAGE)
    if counted_since is not None and job.created_at >= counted_since and jobs.charged_cost(job) > 0:
        raise NotAllowedError(COUNTED_MESSAGE)
    return bool(ledger.jobs.delete(job_id))


def delete_experiment(ledger: Any, exp_id: str, who: Identity) -> bool:
    """Delete an experiment (its jobs stay in Jobs), if `who` may."""
    found = ledger.experiments.get_experiment(exp_id)
    if found is None:
        return False
    check_delete(who, str(found.get("owner") or ""))
    return bool(ledger.experiments.delete_experiment(exp_id))


def person_key(who: Identity, browser: str) -> str:
    """Who is acting, as one string: the person (a guest's id already names their link and browser); in
    single-user mode, where people are not told apart, this browser. Votes and the chat quota count by it."""
    return who.id or f"browser:{browser}"
