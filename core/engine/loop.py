"""The job engine: one per server process, running whether or not a browser tab is open (no Streamlit).

    Engine.start()   a daemon thread: every tick, claim the due jobs this process has access to
                     (a lease in the ledger: owner + expiry, compare-and-set), work on each in a
                     small pool (runner.advance: settle, poll once, download), write the result and
                     give the lease up in one transaction (Ledger.release)
    Engine.stop()    stops claiming, lets the work in hand finish (bounded), gives leases up

Several processes may run engines on one ledger: a job is only worked on by the engine holding its
lease, so no task is polled twice at once and no video is downloaded twice. A lease is renewed while
the work goes on (by the heartbeat, and by a download as it streams) and expires when its process dies
or pauses, so another engine takes the job over; a holder that finds its lease lost stops the
download and writes nothing. One exception, so that no video is fetched twice: a video already stored
when the lease lapsed (the database away longer than a lease) still goes into the job if it has none, and
an engine taking a download over from an engine that may still run waits a moment for that video first
(and stops its own download once the job has one).

Access (core/jobs/access.py): an engine claims only the jobs whose access it holds — the operator's keys
(environment/secrets), its own demo emulator, and the session keys typed in this process (held in
memory, announced in the ledger by a heartbeat so other engines and the tabs know they are alive).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import httpx

from core import config
from core.authoring import catalog
from core.engine import callbacks, runner, slots
from core.errors import StudioError
from core.jobs import access as acc
from core.jobs import refusals
from core.jobs.record import InvalidTransition, Job, JobError, JobState, is_pollable, transition
from core.models import RouterAccess
from core.storage.body_media import internalize_body
from core.storage.job_store import LeaseLostError, StaleWriteError
from core.storage.jobs_table import job_access
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache

log = logging.getLogger(__name__)


def new_owner_id() -> str:
    """Who holds a lease: host, process and a random part (a restarted process is a new owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def holder_may_be_alive(owner: str, host: str | None = None) -> bool:
    """Could the engine named `owner` (new_owner_id) still be running? An engine of this machine whose
    process is gone cannot; one of another machine, or a name of another form, might."""
    parts = owner.split(":")
    if len(parts) != 3 or parts[0] != (host or socket.gethostname()) or not parts[1].isdigit():
        return True
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process (permission): alive
        return True
    return True


def remove_stale_parts(
    directory: Path, now: float, older_than_s: float = config.ENGINE_PART_MAX_AGE_S
) -> int:
    """Delete unfinished download files (`.…part…`) nobody has written to for a while; returns how many.

    A download in progress in another process writes all the time, so its file is never old."""
    removed = 0
    for path in directory.glob(".*part*"):
        try:
            if path.is_file() and now - path.stat().st_mtime > older_than_s:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed


def origin_alive(url: str, timeout: float = config.ENGINE_PROBE_TIMEOUT_S) -> bool:
    """Does something accept connections at this URL's host and port?"""
    origin = acc.origin(url)
    try:
        host_port = origin.split("://", 1)[1]
        host, port = host_port.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=timeout):
            return True
    except (OSError, ValueError, IndexError):
        return False


def _with_answer(current: Job, answered: Job) -> Job:
    """The stored job with the router's answer to its send, when it still waits for one (being sent, or
    taken for "submission unknown" meanwhile); otherwise as it is."""
    if current.task is not None or current.state not in (JobState.SUBMITTING, JobState.SUBMISSION_UNKNOWN):
        return current
    return answered.model_copy(update={"revision": current.revision})


def with_video(current: Job, stored: Job) -> Job:
    """The stored job with the video another copy of it stored, when it still has none (the result of a
    download whose lease lapsed while the database was away: never fetched again); otherwise as it is."""
    if current.video_file or current.state != JobState.SUCCEEDED or not stored.video_file:
        return current
    return current.model_copy(update={"video_file": stored.video_file, "poll": stored.poll,
                                      "updated_at": stored.updated_at,
                                      "checks": current.checks or stored.checks})  # checked with it


def needs_download(job: Job) -> bool:
    """A finished job whose video is not stored yet."""
    return job.state == JobState.SUCCEEDED and not job.video_file and bool(job.video_urls)


def access_for(job: Job, held: dict[str, RouterAccess]) -> RouterAccess | None:
    """The access to work on `job` with: the one it was sent with (the demo emulator serves both routers)."""
    found = held.get(job_access(job))  # jobs of releases before access was kept have none in their record
    if found is not None and found.router != job.router:
        return found.model_copy(update={"router": job.router}) if found.demo else None
    return found


class Engine:
    """Polls, downloads and settles the jobs of one ledger, from this process, under leases."""

    def __init__(
        self,
        ledger: Ledger,
        media: MediaCache,
        client: httpx.Client,
        *,
        operator: dict[str, RouterAccess] | Callable[[], dict[str, RouterAccess]] | None = None,
        demo: RouterAccess | None = None,
        demo_done_after_s: float | None = None,
        registry: acc.AccessRegistry | None = None,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
        tick_s: float = config.ENGINE_TICK_S,
        lease_s: float = config.ENGINE_LEASE_S,
        workers: int = config.ENGINE_WORKERS,
        public_url: str | None = None,
    ) -> None:
        self.ledger = ledger
        self.media = media
        self.client = client
        self._operator_source = operator if callable(operator) else None
        self.operator = {} if callable(operator) else dict(operator or {})
        self._refresh_operator = self._operator_source is not None
        self.demo = demo
        self.demo_done_after_s = demo_done_after_s  # our own emulator's run time: demo jobs are checked then
        self.registry = registry or acc.AccessRegistry()
        self.owner = owner or new_owner_id()
        self.clock = clock
        self.tick_s = tick_s
        self.lease_s = lease_s
        self.workers = workers
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._last_heartbeat = 0.0
        self._last_adopt = 0.0
        self.stats = {"claimed": 0, "released": 0, "lost": 0, "errors": 0, "write_retries": 0}
        self.gate = slots.SendGate()  # per access: how many its router account runs at once; quota holds
        self._sends: dict[str, tuple[str, str]] = {}  # job id → (access, router): sends in hand
        self._answers: dict[str, str] = {}  # job id → "accepted" | "refused": a send in hand answered
        # callbacks (core/engine/callbacks.py): our public address ($STUDIO_PUBLIC_URL), and the inbox the
        # server's callback route hands deliveries to
        self.public_url = callbacks.public_url(public_url)
        self.inbox = callbacks.Inbox(ledger, self.wake, clock=clock)

    def __repr__(self) -> str:
        return f"Engine({self.owner!r}, {self.ledger!r})"

    # --- what this engine can reach ---------------------------------------------------------------

    def accesses(self) -> dict[str, RouterAccess]:
        """Access id → access, for every access this process holds right now."""
        if self._refresh_operator and self._operator_source is not None:
            self._refresh_operator = False
            self.operator = dict(self._operator_source())
        held: dict[str, RouterAccess] = {acc.operator_id(r): a for r, a in self.operator.items()}
        if self.demo is not None:
            held[acc.demo_id(self.demo.base_url)] = self.demo
        for access_id in self.registry.ids():
            found = self.registry.get(access_id)
            if found is not None:
                held[access_id] = found
        return held

    def bind_session_key(self, router: str, key: str, base_url: str, *, person: str = "",
                         adopt: bool = False) -> str:
        """Hold a key `person` typed in a session (memory only; access.key_person: the identity id, or the
        browser in single-user mode); that person's jobs waiting for a key of this router at this address
        (sent before a restart) continue with it — never another person's (checked when the key is new
        here, or with `adopt`, when a person types it). Returns the access id for new jobs."""
        known = self.registry.get(self.registry.access_id(router, key, base_url, person)) is not None
        access_id = self.registry.bind(router, key, base_url, person)
        if known and not adopt:  # already held and announced (every send binds): no ledger work again
            return access_id
        now = self.clock()
        self.ledger.keys.hold_keys(self.owner, [access_id], now + config.ENGINE_KEY_HOLD_S)
        mine = acc.person_hash(person)
        for job in self.ledger.keys.waiting_for_key(router, now):
            if (job.base_url.rstrip("/") == base_url.rstrip("/") and job.access != access_id
                    and acc.job_key_person_hash(job.access, job.owner, job.browser) == mine):
                self._rebind(job, access_id)
        self.wake()
        return access_id

    def _rebind(self, job: Job, access_id: str) -> None:
        def change(current: Job) -> Job:
            if job_access(current) != job_access(job):
                return current
            return current.model_copy(update={"access": access_id})

        with contextlib.suppress(KeyError, StaleWriteError):
            self.ledger.jobs.modify(job.id, change)

    def adopt_orphaned_demo_jobs(self) -> int:
        """Demo jobs whose emulator is gone (an earlier run's, or a stopped server's) are polled at ours: the
        task is unknown there, so they end as "lost" instead of waiting forever. A running server's emulator
        is never taken for gone, even when out of our reach (another machine): each engine announces its
        demo access with its heartbeat. Runs at start and every config.ENGINE_ADOPT_EVERY_S. Returns how
        many jobs were moved."""
        if self.demo is None:
            return 0
        ours = acc.demo_id(self.demo.base_url)
        held = self.ledger.keys.held_keys(self.clock())  # demo emulators of running servers (their heartbeat)
        moved = 0
        alive: dict[str, bool] = {}
        for job in self.ledger.jobs.with_work(prefix=f"{acc.DEMO}:"):
            access = job_access(job)  # "demo:" with no address for a job of a release before access was kept
            if access == ours or access in held:
                continue
            where = access.split(":", 1)[1]
            if where not in alive:
                alive[where] = bool(where) and origin_alive(where)
            if not alive[where]:
                self._rebind(job, ours)
                moved += 1
        return moved

    # --- running ------------------------------------------------------------------------------------

    def start(self) -> Engine:
        if self._thread is not None:
            return self
        removed = remove_stale_parts(self.media.dir, self.clock())
        if removed:
            log.info("removed %d unfinished download file(s) left by a stopped app", removed)
        self.adopt_orphaned_demo_jobs()
        self._last_adopt = self.clock()
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="engine-work")
        self._thread = threading.Thread(target=self._run, name="job-engine", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = config.ENGINE_STOP_TIMEOUT_S) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Look for due work now (e.g. a job was just recorded); read the operator's keys again."""
        self._refresh_operator = self._operator_source is not None
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # the engine must survive anything one tick meets
                self.stats["errors"] += 1
                log.exception("job engine tick failed")
            self._wake.wait(self.tick_s)
            self._wake.clear()

    def tick(self) -> int:
        """One round: heartbeat, then claim and start work on what is due. Returns how many were claimed."""
        now = self.clock()
        if now - self._last_heartbeat >= min(config.ENGINE_HEARTBEAT_S, self.lease_s / 3):
            self._refresh_operator = self._operator_source is not None
            self._heartbeat(now)
        held = self.accesses()
        with self._lock:
            free = self.workers - len(self._inflight)
        if free <= 0:
            return 0
        ids = tuple(held)
        due = self.ledger.jobs.next_due(ids)
        if due is None or due > now:
            return 0
        claimed = self.ledger.jobs.claim_due_from(self.owner, ids, now=now, lease_s=self.lease_s, limit=free)
        started: dict[tuple[str, str], int] = {}  # (group, router) → sends started in this tick
        sending: dict[tuple[str, str], int] = {}  # (access, router) → in flight, with this tick's sends
        for job, lapsed_from in claimed:
            self.stats["claimed"] += 1
            if job.state == JobState.WAITING and not self._slot_free(job, sending, now):
                continue
            if job.state == JobState.WAITING and job.group_limit > 0:
                slot = (job.group, job.router)
                if slot not in started:
                    started[slot] = self.ledger.jobs.in_flight_in_group(job.group, job.router)
                if started[slot] >= job.group_limit:  # its turn has not come: look again a little later
                    self.ledger.jobs.defer(job.id, self.owner, now + config.ENGINE_GROUP_RETRY_S)
                    continue
                started[slot] += 1
            with self._lock:
                if self._pool is None:
                    break
                if job.id in self._inflight:  # ours already: its lease ran out while the database was away,
                    continue  # and the claim has just renewed it; the work under way goes on (never twice)
                if job.state == JobState.WAITING:
                    self._sends[job.id] = (job_access(job), job.router)
                taken_over = bool(lapsed_from) and needs_download(job) and holder_may_be_alive(lapsed_from)
                self._inflight[job.id] = self._pool.submit(self._work, job, access_for(job, held), taken_over)
        return len(claimed)

    def _slot_free(self, job: Job, sending: dict[tuple[str, str], int], now: float) -> bool:
        """May this waiting job be sent now? Not while its access is held (quota) or has as many jobs in
        flight on the router as the account runs (core/engine/slots.py): then it is given back, its card
        saying why (written only when that changes), to be looked at again when a slot may be free."""
        access_id, key = job_access(job), (job_access(job), job.router)
        hold = self.gate.hold(access_id, job.router, now)
        if hold is not None:
            self._hold_back(job, hold.message, hold.until)
            return False
        if self.gate.probing(access_id, job.router):  # a quota hold ended: one send tries first
            with self._lock:
                in_hand = any(k == key for k in self._sends.values())
            probe = (f"probe:{access_id}", job.router)
            if in_hand or probe in sending:
                self.ledger.jobs.defer(job.id, self.owner, now + config.ENGINE_BURST_RETRY_S)
                return False
            sending[probe] = 1
        limit = self.gate.limit(access_id, job.router, now)
        if limit is None:  # no limit known: sends go out in bursts, the next once the last is answered
            with self._lock:
                unanswered = any(k == key and i not in self._answers for i, k in self._sends.items())
            burst = (f"burst:{access_id}", job.router)  # (a burst is what one tick claims)
            if unanswered and burst not in sending:
                self.ledger.jobs.defer(job.id, self.owner, now + config.ENGINE_BURST_RETRY_S)
                return False
            sending[burst] = 1
            return True
        if key not in sending:  # our sends not written as "sending" yet count too (counted twice, briefly)
            with self._lock:
                ours = sum(1 for k in self._sends.values() if k == key)
            sending[key] = self.ledger.jobs.in_flight_for_access(access_id, job.router) + ours
        if sending[key] >= limit:
            self._hold_back(job, runner.busy_message(limit), now + config.ENGINE_GROUP_RETRY_S)
            return False
        sending[key] += 1
        return True

    def _hold_back(self, job: Job, message: str, until: float) -> None:
        if job.poll.last_error != message:
            def note(current: Job) -> Job:
                if current.state != JobState.WAITING:
                    return current
                poll = current.poll.model_copy(update={"last_error": message})
                return current.model_copy(update={"poll": poll})

            with contextlib.suppress(KeyError, StaleWriteError):
                self.ledger.jobs.modify(job.id, note)
        self.ledger.jobs.defer(job.id, self.owner, until)

    def _refused(self, access: RouterAccess, job: Job, exc: StudioError, kind: str) -> Job:
        """A send the router refused as busy or out of quota: back to waiting (runner.back_to_waiting), and
        the access's limit learnt (busy: the jobs already in flight are as many as the account runs) or its
        queue held (quota)."""
        now, access_id = self.clock(), job_access(job)
        label = catalog.get(job.endpoint_id).router_label if job.endpoint_id in catalog.ids() else job.router
        if kind == refusals.QUOTA:
            until = now + config.QUOTA_HOLD_S
            message = runner.quota_message(exc, until, label)
            hold = self.gate.quota(access_id, job.router, message, now)
            log.warning("job %s: %s refused it for quota; sends with this access held", job.id, label)
            return runner.back_to_waiting(job, now, message, hold.until, exc, busy=False)
        running = self._running_when_refused(job)
        limit = self.gate.busy(access_id, job.router, running, now)
        delay = slots.busy_delay(job.poll.busy_refusals + 1, random.random())
        log.info("job %s: %s is busy (%d in flight); limit %d, again in %.1fs", job.id, label, running, limit,
                 delay)
        return runner.back_to_waiting(job, now, runner.busy_message(limit), now + delay, exc)

    def _running_when_refused(self, job: Job) -> int:
        """How many jobs of this job's access the router was running when it refused this one: those it
        accepted (in the ledger, or answered to us and not written yet), once every other send of that
        access in hand has its answer (at most BUSY_LEARN_WAIT_S: sends that left together count together).
        Meanwhile nothing new is sent with that access (SendGate.refused)."""
        key = (job_access(job), job.router)
        self.gate.refused(*key)
        with self._lock:
            self._answers[job.id] = "refused"
        deadline = time.monotonic() + config.BUSY_LEARN_WAIT_S
        while True:
            with self._lock:
                others = [i for i, k in self._sends.items() if k == key and i != job.id]
                open_ = [i for i in others if i not in self._answers]
                accepted = [i for i in others if self._answers.get(i) == "accepted"]
            if not open_ or time.monotonic() >= deadline:
                break
            time.sleep(config.BUSY_LEARN_POLL_S)
        return len(self.ledger.jobs.accepted_ids_for_access(key[0], job.router) | set(accepted))

    def _slower_with_callbacks(self, job: Job) -> Job:
        """Once callbacks arrive for the job's router (and this job will get one), its next poll is only the
        fallback: later than the schedule says (callbacks.poll_later)."""
        now = self.clock()
        covered = bool(job.callback_hash) or (job.router == config.MULEROUTER and self.public_url is not None)
        due = job.poll.next_poll_at
        if not covered or not is_pollable(job) or due is None or not self.inbox.live(job.router, now):
            return job
        later = now + callbacks.poll_later(max(0.0, due - now))
        return job.model_copy(update={"poll": job.poll.model_copy(update={"next_poll_at": max(due, later)})})

    def _answered(self, job: Job) -> Job:
        if job.task is not None:
            with self._lock:
                self._answers[job.id] = "accepted"
        return job

    def _heartbeat(self, now: float) -> None:
        with self._lock:
            working = list(self._inflight)
        if working:  # first of all: a database back from an outage renews the leases of our work in hand
            self.ledger.jobs.renew(self.owner, working, now + self.lease_s)
        self._last_heartbeat = now  # only once renewed: a failed heartbeat is tried again on the next tick
        keys = self.registry.ids()
        if keys:
            needed = {j.access for j in self.ledger.jobs.with_work(prefix=f"{acc.SESSION}:")}
            if self.registry.drop(needed):
                keys = self.registry.ids()
        if self.demo is not None:  # our demo emulator is alive while we are (other servers leave its jobs)
            keys = [*keys, acc.demo_id(self.demo.base_url)]
        if keys:
            self.ledger.keys.hold_keys(self.owner, keys, now + config.ENGINE_KEY_HOLD_S)
        if now - self._last_adopt >= config.ENGINE_ADOPT_EVERY_S:
            self._last_adopt = now
            self.adopt_orphaned_demo_jobs()

    def _send(self, job: Job, access: RouterAccess | None) -> Job:
        """Send a waiting job once: "sending" is written (lease kept) before the POST, the outcome after."""
        if access is None:
            return job
        now = self.clock()
        try:
            endpoint = catalog.get(job.endpoint_id)
            body = internalize_body(job.body, self.media)
        except (KeyError, FileNotFoundError, ValueError) as exc:  # nothing can be sent: say why
            failed = transition(job, JobState.SUBMITTING, now)
            failed = transition(failed, JobState.FAILED, now, str(exc))
            return failed.model_copy(update={"error": JobError(kind=type(exc).__name__, message=str(exc))})
        sending = transition(job, JobState.SUBMITTING, now, f"Sending to {endpoint.router_label}")
        hook = None
        if (self.public_url and runner.takes_callback_url(job.router)
                and callbacks.reachable_by(self.public_url, demo=access.demo)):
            token, digest = callbacks.new_token(job.id)
            hook = callbacks.callback_url(self.public_url, job.router, token)
            sending = sending.model_copy(update={"callback_hash": digest})
        sending = self.ledger.jobs.release(sending, self.owner, keep_lease=True)
        if sending.state != JobState.SUBMITTING:  # stopped meanwhile: nothing is sent
            return sending
        sent = runner.send_recorded(
            self.ledger, self.client, endpoint, body, access, sending, now=self.clock,
            save=self._answered, refused=lambda j, exc, kind: self._refused(access, j, exc, kind),
            callback_url=hook,
        )
        if sent.task is not None:
            self.gate.release_hold(job_access(sent), sent.router)
        return self._first_demo_check(sent, access)

    def _first_demo_check(self, job: Job, access: RouterAccess) -> Job:
        """A demo job on our own emulator is first checked when the emulator says it finishes (its run time
        is known here; an earlier check could not see it done, and the schedule would then wait for Kling's
        typical window); a real router's job follows the schedule alone. Demos are not kept waiting for the
        typical Kling window the schedule assumes when a router reports no progress."""
        if self.demo_done_after_s is None or not access.demo or job.state != JobState.QUEUED:
            return job
        at = self.clock() + self.demo_done_after_s + config.ENGINE_DEMO_CHECK_MARGIN_S
        return job.model_copy(update={"poll": job.poll.model_copy(update={"next_poll_at": at})})

    def _lease_keeper(self, job_id: str) -> Callable[[int], None]:
        """A download's progress hook: renews the job's lease while bytes arrive (every third of a lease),
        and stops the download (LeaseLostError) once another engine holds the job: a holder that lost its
        lease, e.g. after a pause longer than the lease, writes nothing."""
        last = [self.clock()]

        def keep(_written: int) -> None:
            now = self.clock()
            if now - last[0] < self.lease_s / 3:
                return
            last[0] = now
            try:
                ours = self.ledger.jobs.renew_download(self.owner, job_id, now + self.lease_s)
            except Exception:  # the database is not answering: nobody else can claim it either
                log.warning("could not renew the lease of job %s; the download goes on", job_id)
                return
            if not ours:  # another engine holds the job, or stored its video meanwhile
                raise LeaseLostError(f"job {job_id} is being worked on elsewhere now")

        return keep

    def _write_kept(self, result: Job, *, sent: bool) -> None:
        """Write what cannot be had again for free, however long the database takes to answer: the router's
        answer to a send (its task id above all: never sent again), or a video just stored (never fetched
        again). It is kept in memory and written with backoff. If another engine holds the job meanwhile, a
        send's answer still goes in while the job waits for it, and a stored video while the job has none
        (the other engine, waiting a moment before fetching it — `_lapsed_holder_stored` — then stops)."""
        delay, stopped_at = config.ENGINE_WRITE_RETRY_S, None
        kept = f"task id {result.task_id}" if sent else f"video {result.video_file}"
        while True:
            try:
                try:
                    self.ledger.jobs.release(result, self.owner)
                except LeaseLostError:
                    if sent and result.task is not None:
                        self.ledger.jobs.modify(result.id, lambda current: _with_answer(current, result))
                    elif not sent and result.video_file:
                        written = self.ledger.jobs.modify(result.id, lambda cur: with_video(cur, result))
                        if written.video_file != result.video_file:
                            log.info("job %s: another engine stored its video first; ours (%s) is unused",
                                     result.id, result.video_file)
                    else:
                        raise
                return
            except (InvalidTransition, KeyError):  # not ours to write, or the job was deleted
                raise
            except Exception as exc:
                self.stats["write_retries"] += 1
                now = time.monotonic()
                if self._stop.is_set():
                    stopped_at = stopped_at or now
                    if now - stopped_at > config.ENGINE_WRITE_KEEP_AFTER_STOP_S:
                        log.error("job %s: the database did not answer; %s was not written", result.id, kept)
                        raise
                log.warning("job %s: the database is not answering (%s); %s kept, written when it answers",
                            result.id, type(exc).__name__, kept)
                time.sleep(delay)
                delay = min(delay * 2, config.ENGINE_WRITE_RETRY_CAP_S)

    def _lapsed_holder_stored(self, job: Job) -> bool:
        """A download taken over from an engine whose lease lapsed and that may still run: wait a moment
        (renewing our lease) for it to write the video it may have fetched while the database was away: a
        little longer than the longest pause between its tries (config.ENGINE_WRITE_RETRY_CAP_S). True when
        it did (our lease is given back, nothing fetched); False to fetch it now."""
        deadline = self.clock() + config.ENGINE_WRITE_RETRY_CAP_S + config.ENGINE_TAKEOVER_MARGIN_S
        while self.clock() < deadline and not self._stop.is_set():
            time.sleep(min(self.tick_s, self.lease_s / 10))
            if self.ledger.jobs.renew_download(self.owner, job.id, self.clock() + self.lease_s):
                continue
            current = self.ledger.jobs.get(job.id)
            if current is not None and current.video_file:
                self.ledger.jobs.release(job, self.owner)  # the job moved on: nothing of ours is written
                log.info("job %s: the engine that held it stored the video; not fetched again", job.id)
                return True
            raise LeaseLostError(f"job {job.id} is being worked on elsewhere now")
        return False

    def _work(self, job: Job, access: RouterAccess | None, taken_over: bool = False) -> None:
        try:
            if taken_over and self._lapsed_holder_stored(job):
                pass
            elif job.state == JobState.WAITING:
                self._write_kept(self._send(job, access), sent=True)
            else:
                result = runner.advance(self.media, self.client, job, access, now=self.clock,
                                        progress=self._lease_keeper(job.id))
                result = self._slower_with_callbacks(result)
                if result.video_file and not job.video_file:  # just stored: never fetched again
                    self._write_kept(result, sent=False)
                else:
                    self.ledger.jobs.release(result, self.owner)
            self.stats["released"] += 1
        except LeaseLostError:
            self.stats["lost"] += 1
            log.info("job %s was taken over by another engine; our result is dropped", job.id)
        except Exception:
            self.stats["errors"] += 1
            log.exception("the engine could not finish job %s", job.id)
        finally:
            with self._lock:
                self._inflight.pop(job.id, None)
                self._sends.pop(job.id, None)
                self._answers.pop(job.id, None)
            self._wake.set()  # the job's next step may be due at once (e.g. the download after "Done")

    def run_until_idle(self, timeout: float) -> None:
        """Tests and benchmarks: tick until nothing is claimed or in hand, or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            claimed = self.tick()
            with self._lock:
                busy = bool(self._inflight)
            if not claimed and not busy:
                return
            time.sleep(self.tick_s / 4)
