"""Who may act on a job, an experiment or a Library preset, checked in core (issue 20, item 5).

One table: each action × who acts (the owner, another person, an admin, the single user) → what core does.
Person B opening person A's job by its link must not stop it, mark it as not sent, resume it or give it a
task id; a Retry is always the retrier's job with their own access (never another person's typed key);
an import or save under A's preset name by B makes B's own copy, never A's next version.

    action                          owner     other              admin     single-user
    stop a waiting job              done      refused            done      done
    mark as not sent                done      refused            done      done
    resolve with a task id          done      refused            done      done
    resume a stopped job            done      refused            done      done
    try download again              done      refused            done      done
    retry with the job's own key    done      refused            refused   refused (another browser)
    retry with one's own access     done      done (theirs)      done      done
    delete a job                    done      refused            done      done
    delete an experiment            done      refused            done      done
    change/run an experiment        done      refused            done      done
    delete a preset version         done      refused            done      done
    import into a preset            v2        a copy (theirs)    v2        v2
    save into a preset              v2        a copy (theirs)    v2        v2
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from core import config
from core.authoring import catalog
from core.compare import experiments as X
from core.engine import runner
from core.engine.rights import ActionRefused
from core.jobs import access as acc
from core.jobs.record import JobState, transition
from core.models import RouterAccess, TaskRef
from core.storage.ledger import Ledger
from core.storage.library import Library, export_presets
from core.storage.media_cache import MediaCache
from core.team import identity as ident

MR_T2V = "mulerouter/kling-v3/text-to-video"
BODY = {"prompt": "A red fox runs through snow", "duration": 5}
ANN, BOB, BOSS = "ann@example.com", "bob@example.com", "boss@example.com"
BROWSER_1, BROWSER_2 = "browser1AAAAAAAAAAAAAAA", "browser2BBBBBBBBBBBBBBB"
ACCESS = RouterAccess(router=config.MULEROUTER, base_url="https://api.mulerouter.ai", key="sk-ann")

ACTORS = {
    "owner": ident.Identity(ANN, ANN, ident.HEADER),
    "other": ident.Identity(BOB, BOB, ident.HEADER),
    "admin": ident.Identity(BOSS, BOSS, ident.HEADER, True),
    "single": ident.SINGLE_USER,
}
DONE, REFUSED, COPY, V2 = "done", "refused", "copy", "v2"
TABLE = {  # action: (owner, other, admin, single-user)
    "stop": (DONE, REFUSED, DONE, DONE),
    "mark as not sent": (DONE, REFUSED, DONE, DONE),
    "resolve with a task id": (DONE, REFUSED, DONE, DONE),
    "resume": (DONE, REFUSED, DONE, DONE),
    "try download again": (DONE, REFUSED, DONE, DONE),
    "retry with the job's own key": (DONE, REFUSED, REFUSED, REFUSED),
    "retry with one's own access": (DONE, DONE, DONE, DONE),
    "delete a job": (DONE, REFUSED, DONE, DONE),
    "delete an experiment": (DONE, REFUSED, DONE, DONE),
    "change or run an experiment": (DONE, REFUSED, DONE, DONE),
    "delete a preset version": (DONE, REFUSED, DONE, DONE),
    "import into a preset": (V2, COPY, V2, V2),
    "save into a preset": (V2, COPY, V2, V2),
}
CASES = [(action, actor, outcome) for action, outcomes in TABLE.items()
         for actor, outcome in zip(ACTORS, outcomes, strict=True)]


@pytest.fixture
def world(tmp_path: Path, ledger_url):
    ledger = Ledger(tmp_path, url=ledger_url)
    media = MediaCache(tmp_path / config.MEDIA_DIRNAME)
    return ledger, media, Library(tmp_path, database=ledger.database, media=media)


def _owner_of_world(actor: str) -> str:
    """Whose things the actor meets: Ann's in a team; in single-user mode, the one person's ("")."""
    return "" if actor == "single" else ANN


def _person(actor: str) -> str:
    """The person the actor's typed keys belong to (single-user: their browser, another than the maker's)."""
    who = ACTORS[actor]
    return acc.key_person(who.id, BROWSER_2 if actor == "single" else "")


def _maker_person(actor: str) -> str:
    return acc.key_person(_owner_of_world(actor), BROWSER_1 if actor == "single" else "")


def _job(ledger, media, owner: str, *states: JobState, access_id: str = ""):
    endpoint = catalog.get(MR_T2V)
    job = runner.record_job(ledger, media, endpoint, dict(BODY), ACCESS,
                            access_id=access_id or acc.operator_id(config.MULEROUTER), owner=owner)
    t = time.time()
    for state in states:  # one write per step, as the engine would make them
        job = transition(job, state, t)
        if state == JobState.QUEUED:
            job = job.model_copy(update={"task": TaskRef(router=config.MULEROUTER, path=endpoint.path,
                                                         task_id="task-1")})
        job = ledger.jobs.update(job)
    return job


def _act(action: str, actor: str, world) -> str:  # one branch per row of the table
    ledger, media, lib = world
    who = ACTORS[actor]
    owner = _owner_of_world(actor)

    def allowed(o: str) -> bool:
        return ident.may_edit(who, o)

    endpoint = catalog.get(MR_T2V)
    if action == "stop":
        job = _job(ledger, media, owner)
        done = runner.stop_waiting(ledger, job.id, allowed=allowed)
        assert done.state == JobState.CANCELLED
    elif action in ("mark as not sent", "resolve with a task id"):
        job = _job(ledger, media, owner, JobState.SUBMITTING, JobState.SUBMISSION_UNKNOWN)
        if action == "mark as not sent":
            assert runner.dismiss(ledger, job.id, allowed=allowed).state == JobState.FAILED
        else:
            found = runner.track_task(ledger, endpoint, "task-found", ACCESS, job_id=job.id, allowed=allowed)
            assert found.state == JobState.QUEUED
    elif action == "resume":
        job = _job(ledger, media, owner, JobState.SUBMITTING, JobState.QUEUED, JobState.STALE)
        assert runner.resume(ledger, job.id, allowed=allowed).state == JobState.RUNNING
    elif action == "try download again":
        job = _job(ledger, media, owner, JobState.SUBMITTING, JobState.QUEUED, JobState.SUCCEEDED)
        t = time.time()
        assert runner.download_again(ledger, job.id, now=lambda: t, allowed=allowed).poll.next_poll_at == t
    elif action.startswith("retry"):
        registry = acc.AccessRegistry()
        makers = registry.bind(config.MULEROUTER, "sk-makers-key", ACCESS.base_url, _maker_person(actor))
        source = _job(ledger, media, owner, access_id=makers)
        mine = registry.bind(config.MULEROUTER, "sk-my-key", ACCESS.base_url, _person(actor))
        use = makers if action == "retry with the job's own key" else mine
        again = runner.record_job(ledger, media, endpoint, dict(source.body), ACCESS, access_id=use,
                                  owner=who.id, key_person=_person(actor))
        assert again.owner == who.id and again.id != source.id and again.access == use
    elif action == "delete a job":
        job = _job(ledger, media, owner, JobState.SUBMITTING, JobState.FAILED)
        assert ident.delete_job(ledger, job.id, who)
    elif action in ("delete an experiment", "change or run an experiment"):
        exp = X.save(ledger, media, X.new_experiment(MR_T2V, BODY, mode="text"), owner=owner)
        if action == "delete an experiment":
            assert ident.delete_experiment(ledger, exp.id, who)
        else:
            X.check_change(ledger, exp.id, who)
    elif action == "delete a preset version":
        lib.save("Fox", MR_T2V, BODY, owner=owner)
        assert lib.delete("Fox", 1, allowed=lambda o: ident.may_delete(who, o))
    else:  # import / save into Ann's preset "Fox"
        lib.save("Fox", MR_T2V, BODY, owner=owner)
        changed = dict(BODY, prompt="A red fox sprints at dawn")
        if action == "import into a preset":
            text = export_presets([{"name": "Fox", "version": 1, "endpoint_id": MR_T2V, "body": changed}])
            [saved], refused = lib.import_text(text, owner=who.id, allowed=allowed)
            assert refused == []
        else:
            saved = lib.save("Fox", MR_T2V, changed, owner=who.id, allowed=allowed)
        if saved.name == "Fox":
            assert saved.number == 2
            return V2
        assert [v.number for v in lib.versions("Fox")] == [1]  # Ann's preset is as she left it
        assert saved.name == f"Fox ({who.id}'s copy)" and saved.owner == who.id and saved.number == 1
        return COPY
    return DONE


@pytest.mark.parametrize(("action", "actor", "expected"), CASES,
                         ids=[f"{a}-{p}" for a, p, _ in CASES])
def test_who_may_act_on_what(world, action: str, actor: str, expected: str) -> None:
    try:
        outcome = _act(action, actor, world)
    except (ActionRefused, ident.NotAllowedError, PermissionError) as exc:
        assert str(exc) and "Traceback" not in str(exc)
        outcome = REFUSED
    assert outcome == expected


def test_a_refused_action_changes_nothing_and_says_whose_it_is(world) -> None:
    ledger, media, _ = world
    job = _job(ledger, media, ANN)
    bob = ACTORS["other"]
    with pytest.raises(ActionRefused, match=f"This is {ANN}'s job: only they or an admin can stop it"):
        runner.stop_waiting(ledger, job.id, allowed=lambda o: ident.may_edit(bob, o))
    assert ledger.jobs.get(job.id).state == JobState.WAITING
