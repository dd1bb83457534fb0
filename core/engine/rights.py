"""Who may act on a job (issue 20): the checks the runner's user actions make, whatever the page showed.

The engine sits below core.team, so it does not know identities: a caller passes `allowed(owner) -> bool`
(core/team/identity.py may_edit for the person acting: the owner, an admin, or everyone in single-user
mode) and the person the session keys belong to (core/jobs/access.py key_person). The ui passes both
(ui/session.py). Refusals are ActionRefused, a PermissionError in plain words. A job owned by a guest of a
review link (id "guest:…") is never built (`check_sender`, in runner.build_job and track_task).
"""

from __future__ import annotations

from collections.abc import Callable

from core.jobs import access as acc
from core.storage.ledger import Ledger

Allowed = Callable[[str], bool]

NOT_YOURS_JOB_MESSAGE = "This is {owner}'s job: only they or an admin can {action}."
NOBODYS_JOB_MESSAGE = "This job was made before sign-in was set up: only an admin can {action}."
NOT_YOUR_KEY_MESSAGE = ("This job would be sent with a key someone else typed in Settings; a job is only "
                        "ever sent with its own person's key. Type your key in Settings, or use the "
                        "operator's.")


GUEST_PREFIX = "guest:"  # core/team/identity.py GUEST_PREFIX (that layer sits above this one)
GUEST_SEND_MESSAGE = "A review link lets you watch, vote and comment; sending videos is for the team."


class ActionRefused(PermissionError):
    """This person may not do that to a job another person made (plain words)."""


def job_refusal(owner: str, action: str) -> str:
    return (NOT_YOURS_JOB_MESSAGE.format(owner=owner, action=action) if owner
            else NOBODYS_JOB_MESSAGE.format(action=action))


def check_job(ledger: Ledger, job_id: str, allowed: Allowed | None, action: str) -> None:
    """Raises ActionRefused when `allowed` says no for the job's owner (the owner is written once, so the
    answer cannot change before the write). Nothing to check without `allowed`, or for an unknown job
    (the action then says it is unknown)."""
    if allowed is None:
        return
    job = ledger.jobs.get(job_id)
    if job is not None and not allowed(job.owner):
        raise ActionRefused(job_refusal(job.owner, action))


def check_own_key(access_id: str, key_person: str | None) -> None:
    """Raises ActionRefused when `access_id` is a session key of someone other than `key_person` (None:
    not checked). Ids of other kinds (operator, demo) carry no person."""
    if key_person is None or acc.kind_of(access_id) != acc.SESSION:
        return
    if acc.access_person_hash(access_id) != acc.person_hash(key_person):
        raise ActionRefused(NOT_YOUR_KEY_MESSAGE)


def check_sender(owner: str) -> None:
    """Raises ActionRefused when the person a new job would belong to is a guest of a review link: guests
    never send anything, whatever a page let them press (issue 18)."""
    if str(owner or "").startswith(GUEST_PREFIX):
        raise ActionRefused(GUEST_SEND_MESSAGE)
