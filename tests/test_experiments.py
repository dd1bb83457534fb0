"""Compare's experiments: matrix expansion (axes, takes, translation, diffs), per-cell checks and costs, the
cap line and budget refusal, Run all through the engine over the emulator (group limit, Stop, each take
sent once, resume after a restart), ratings/notes/picks persisted, the table as CSV, Save the winner, and
the ledger's migration 3."""

from __future__ import annotations

import csv
import io
import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import pytest

from core import config
from core.authoring import catalog, pricing
from core.compare import experiments as X
from core.compare import grid
from core.engine.loop import Engine
from core.jobs import access as acc
from core.jobs.record import JobState
from core.models import RouterAccess
from core.net.http import make_client
from core.storage import library
from core.storage.ledger import Ledger
from core.storage.ledger_schema import SCHEMA_VERSION
from core.storage.media_cache import MediaCache
from tests.test_engine import FAST_SCHEDULE, TICK_S

MR_V3 = "mulerouter/kling-v3/text-to-video"
MR_OMNI = "mulerouter/kling-v3-omni/text-to-video"
AM_V3 = "apimart/kling-v3"
BASE = {"prompt": "A red fox runs through snow", "duration": 5, "aspect_ratio": "16:9", "mode": "std",
        "sound": "off", "multi_shot": False}
WORDINGS = ("A red fox runs through snow", "A red fox sprints through deep snow at dawn")
SETTLE_S = 30.0


@pytest.fixture(autouse=True)
def fast_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FAST_SCHEDULE.items():
        monkeypatch.setattr(config, name, value)


def _exp(*axes: X.Axis, takes: int = 1, base: dict | None = None) -> X.Experiment:
    exp = X.new_experiment(MR_V3, dict(base or BASE), mode="text", now=1000.0)
    for axis in axes:
        exp = X.with_axis(exp, axis)
    return replace(exp, takes=takes)


# --- expansion ------------------------------------------------------------------------------------------


def test_three_axes_expand_to_every_combination_with_exact_bodies_and_diffs() -> None:
    exp = _exp(X.Axis(X.AXIS_FIELD, (5, 10, 15), "duration"), X.Axis(X.AXIS_PROMPT, WORDINGS),
               X.Axis(X.AXIS_ENDPOINT, (MR_V3, AM_V3)), takes=2)
    plan = X.expand(exp)
    assert len(plan.cells) == 12 and plan.videos == 24
    assert [c.key for c in plan.cells[:3]] == ["0.0.0", "0.0.1", "0.1.0"]  # first axis slowest
    cell = plan.cell("2.1.1")
    assert cell.labels == ("15 s", "…sprints through deep snow at dawn", "Kling v3 · APIMart")
    # on APIMart: the translated body (sound → audio, the fixed model field) with the axis values applied
    assert cell.endpoint_id == AM_V3
    assert cell.body == {"model": "kling-v3", "prompt": WORDINGS[1], "duration": 15, "aspect_ratio": "16:9",
                         "mode": "std", "multi_shot": False, "audio": False}
    mine = plan.cell("2.1.0")
    assert mine.body == {**BASE, "duration": 15, "prompt": WORDINGS[1]}  # as the Create page sends it
    assert ("insert", "sprints") in mine.prompt_diff and ("delete", "runs") in mine.prompt_diff
    assert X.diff_text(mine.prompt_diff) == "A red fox [-runs-] {+sprints+} through {+deep+} snow {+at dawn+}"
    assert plan.cell("0.0.0").prompt_diff == (("equal", WORDINGS[0]),)


def test_model_axis_goes_over_with_the_translation() -> None:
    exp = _exp(X.Axis(X.AXIS_FIELD, ("on", "off"), "sound"), X.Axis(X.AXIS_ENDPOINT, (MR_V3, MR_OMNI, AM_V3)))
    plan = X.expand(exp)
    assert plan.cell("0.2").body["audio"] is True and "sound" not in plan.cell("0.2").body
    assert plan.cell("0.1").endpoint_id == MR_OMNI and plan.cell("0.1").body["sound"] == "on"
    assert all(not c.blocked for c in plan.cells)


def test_schema_choices_and_endpoint_choices() -> None:
    choices = {c.name: c.options for c in X.field_choices(MR_V3, "text")}
    assert choices["duration"] == tuple(range(3, 16))
    assert choices["mode"] == ("std", "pro") and choices["sound"] == ("on", "off")
    assert choices["aspect_ratio"] == ("16:9", "9:16", "1:1")
    assert "prompt" not in choices and "multi_shot" not in choices and "shot_type" not in choices
    am = {c.name: c.options for c in X.field_choices("apimart/kling-v3-omni", "text")}
    assert am["mode"] == ("std", "pro", "4k") and am["audio"] == (False, True) and "model" not in am
    assert X.endpoint_choices(MR_V3, "text") == [MR_V3, MR_OMNI, "apimart/kling-v3-omni", AM_V3]


def test_problems_block_a_cell_cautions_are_marked_and_costs_add_up() -> None:
    too_long = "fox " * 700  # 2800 characters: over the prompt limit
    exp = _exp(X.Axis(X.AXIS_PROMPT, (WORDINGS[0], too_long)), X.Axis(X.AXIS_FIELD, ("std", "pro"), "mode"),
               takes=3, base={**BASE, "shot_type": "intelligence"})
    plan = X.expand(exp)
    blocked = [c.key for c in plan.cells if c.blocked]
    assert blocked == ["1.0", "1.1"]
    assert any("prompt" in p and "2500" in p for p in plan.cell("1.0").problems)
    assert all(any("shot_type" in c for c in cell.cautions) for cell in plan.runnable)  # marked, not blocking
    table = pricing.default_table()
    std = pricing.estimate(catalog.get(MR_V3), {**BASE, "mode": "std"}, table).total_usd
    pro = pricing.estimate(catalog.get(MR_V3), {**BASE, "mode": "pro"}, table).total_usd
    assert plan.cell("0.0").estimate_usd == std and plan.cell("0.1").estimate_usd == pro
    assert plan.videos == 6 and plan.total_usd == round((std + pro) * 3, 4)
    line = X.cap_line(plan, 5.0)
    assert line.startswith(f"6 videos, about ${plan.total_usd:.2f} — your cap is $5")
    assert "2 cell(s) blocked and not sent" in line


def test_cap_line_reads_as_the_issue_says() -> None:
    exp = _exp(X.Axis(X.AXIS_FIELD, (5, 10, 15), "duration"), X.Axis(X.AXIS_FIELD, ("16:9", "9:16", "1:1"),
                                                                   "aspect_ratio"))
    plan = X.expand(exp)
    assert X.cap_line(plan, 5) == f"9 videos, about ${plan.total_usd:.2f} — your cap is $5"
    assert X.cap_line(plan, 0, demo=True).endswith("demo mode: nothing is charged")


def test_experiment_limits_in_plain_words() -> None:
    assert X.problems_of(_exp(X.Axis(X.AXIS_PROMPT, (WORDINGS[0],)))) == [
        "Give 2 to 6 wordings of the prompt."]
    assert "Takes per cell: 1 to 4." in X.problems_of(_exp(takes=5))
    exp = _exp(X.Axis(X.AXIS_FIELD, (5, 10), "duration"), X.Axis(X.AXIS_PROMPT, WORDINGS),
               X.Axis(X.AXIS_FIELD, ("std", "pro"), "mode"))
    with pytest.raises(X.ExperimentError):
        X.with_axis(exp, X.Axis(X.AXIS_FIELD, ("on", "off"), "sound"))
    # setting the same kind again replaces that axis in place (no fourth axis)
    again = X.with_axis(exp, X.Axis(X.AXIS_FIELD, (5, 10, 15), "duration"))
    assert [a.field for a in again.axes] == ["duration", "", "mode"] and again.axes[0].values == (5, 10, 15)
    assert X.extend_axis(exp, 2, "4k").axes[2].values == ("std", "pro", "4k")


def test_grid_layout_two_axes_and_the_third_stepped_through() -> None:
    exp = _exp(X.Axis(X.AXIS_FIELD, (5, 10), "duration"), X.Axis(X.AXIS_PROMPT, WORDINGS),
               X.Axis(X.AXIS_FIELD, ("std", "pro"), "mode"))
    layout = grid.grid_layout(exp, row_axis=2, col_axis=0, third_value=1)
    assert layout.row_labels == ["Standard (720p)", "Pro (1080p)"] and layout.col_labels == ["5 s", "10 s"]
    assert layout.third_axis == 1 and layout.keys == [["0.1.0", "1.1.0"], ["0.1.1", "1.1.1"]]
    single = grid.grid_layout(_exp())
    assert single.keys == [[""]]


# --- persistence -------------------------------------------------------------------------------------------


def test_experiments_ratings_notes_and_picks_persist(tmp_path: Path) -> None:
    ledger, media = Ledger(tmp_path), MediaCache(tmp_path / "media")
    exp = _exp(X.Axis(X.AXIS_FIELD, (5, 10), "duration"), X.Axis(X.AXIS_FIELD, ("std", "pro"), "mode"))
    X.save(ledger, media, exp)
    again = X.load(Ledger(tmp_path), exp.id)
    assert again == exp
    assert [r["id"] for r in X.listing(ledger)] == [exp.id]
    plan = X.expand(exp)
    X.set_rating(ledger, exp.id, "0.1", 4)
    X.set_note(ledger, exp.id, "0.1", "nice light")
    X.pick(ledger, exp.id, "0.1", X.PICK_ROW, plan, row_axis=0, col_axis=1)
    X.pick(ledger, exp.id, "0.0", X.PICK_ROW, plan, row_axis=0, col_axis=1)  # same row: takes the pick over
    X.pick(ledger, exp.id, "1.1", X.PICK_ROW, plan, row_axis=0, col_axis=1)  # another row: both stay
    X.pick(ledger, exp.id, "1.0", X.PICK_GRID, plan)
    cells = Ledger(tmp_path).experiments.experiment_cells(exp.id)
    assert (cells["0.1"].rating, cells["0.1"].note, cells["0.1"].pick) == (4, "nice light", "")
    assert cells["0.0"].pick == X.PICK_ROW and cells["1.1"].pick == X.PICK_ROW
    assert X.winner(cells) == "1.0"
    X.pick(ledger, exp.id, "1.1", X.PICK_GRID, plan)
    cells = ledger.experiments.experiment_cells(exp.id)
    assert cells["1.0"].pick == "" and X.winner(cells) == "1.1"
    X.set_rating(ledger, exp.id, "0.1", None)
    assert ledger.experiments.experiment_cells(exp.id)["0.1"].rating is None
    with pytest.raises(X.ExperimentError):
        X.set_rating(ledger, exp.id, "0.1", 6)


def test_migration_3_from_a_version_1_file_is_idempotent(tmp_path: Path) -> None:
    Ledger(tmp_path)
    path = tmp_path / config.LEDGER_FILENAME
    with sqlite3.connect(path) as conn:  # as the previous release left it: version 1, no experiment tables
        conn.execute("DROP TABLE experiments")
        conn.execute("DROP TABLE experiment_cells")
        conn.execute("PRAGMA user_version = 1")
    ledger = Ledger(tmp_path)
    ledger.experiments.save_experiment("e1", "t", {"endpoint_id": MR_V3, "base": {}}, now=1.0)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 3
        conn.execute("PRAGMA user_version = 1")  # tables there, version behind: runs again harmlessly
    assert Ledger(tmp_path).experiments.get_experiment("e1")["title"] == "t"


def test_table_rows_and_csv(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    exp = _exp(X.Axis(X.AXIS_FIELD, (5, 10), "duration"), takes=2)
    plan = X.expand(exp)
    ledger.experiments.review_cell(exp.id, "1", rating=3, note="=cmd|' /C calc'!A0")
    rows = grid.table_rows(exp, plan, ledger.experiments.experiment_cells(exp.id), {})
    assert len(rows) == 4 and rows[0]["Duration"] == "5 s" and rows[3]["take"] == 2
    assert {r["status"] for r in rows} == {"not sent"}
    text = grid.rows_csv(rows)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert parsed[2]["rating"] == "3" and parsed[2]["note"].startswith("'=")  # no formula in a spreadsheet
    assert list(parsed[0]) == ["cell", "take", "Duration", "status", "rating", "pick", "note", "estimate_usd",
                               "seconds_to_finish", "endpoint", "job", "check", "check_issues", "checks"]


# --- running through the engine over the emulator -------------------------------------------------------


@pytest.fixture
def rig(emu, tmp_path: Path):
    emu.set_complete_after(0.4)
    ledger, media = Ledger(tmp_path), MediaCache(tmp_path / config.MEDIA_DIRNAME)
    client = make_client()
    demo = RouterAccess(router=config.MULEROUTER, base_url=emu.base_url, key=config.DEMO_KEY, demo=True)
    yield ledger, media, client, demo
    client.close()


def _bind(demo: RouterAccess):
    return lambda router: (demo.model_copy(update={"router": router}), acc.demo_id(demo.base_url))


def _wait(ledger: Ledger, exp_id: str, done, timeout: float = SETTLE_S, watch=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = [ledger.jobs.get(i) for i in X.experiment_job_ids(ledger, exp_id)]
        if watch:
            watch()
        if jobs and all(done(j) for j in jobs):
            return jobs
        time.sleep(0.02)
    return [ledger.jobs.get(i) for i in X.experiment_job_ids(ledger, exp_id)]


def _finished(job) -> bool:
    return job.state == JobState.SUCCEEDED and bool(job.video_file)


def test_run_all_sends_every_take_once_at_most_n_at_a_time(rig, emu) -> None:
    ledger, media, client, demo = rig
    exp = _exp(X.Axis(X.AXIS_FIELD, (3, 4), "duration"), X.Axis(X.AXIS_ENDPOINT, (MR_V3, AM_V3)), takes=2)
    X.save(ledger, media, exp)
    plan = X.expand(exp)
    report = X.run_all(ledger, media, exp, plan, _bind(demo), group_limit=2)
    assert len(report.recorded) == 8
    assert all(ledger.jobs.get(i).state == JobState.WAITING for i in report.recorded)
    engine = Engine(ledger, media, client, demo=demo, tick_s=TICK_S).start()
    most = {config.MULEROUTER: 0, config.APIMART: 0}

    def watch() -> None:
        for router in most:
            most[router] = max(most[router], ledger.jobs.in_flight_in_group(exp.id, router))

    try:
        jobs = _wait(ledger, exp.id, _finished, watch=watch)
    finally:
        engine.stop()
    assert all(_finished(j) for j in jobs) and len(jobs) == 8
    assert max(most.values()) == 2 and all(v <= 2 for v in most.values())  # per router, never more
    assert len(emu.submissions) == 8  # each take sent exactly once
    again = X.run_all(ledger, media, exp, plan, _bind(demo), group_limit=2)  # nothing left to send
    assert again.recorded == [] and again.kept == 8
    cells = ledger.experiments.experiment_cells(exp.id)
    assert {k: len(r.job_ids) for k, r in cells.items()} == {c.key: 2 for c in plan.cells}


def test_stop_cancels_the_takes_not_sent_and_run_all_sends_them_later(rig, emu) -> None:
    ledger, media, client, demo = rig
    emu.set_complete_after(1.0)
    exp = _exp(X.Axis(X.AXIS_FIELD, (3, 4, 5), "duration"), takes=2)
    plan = X.expand(exp)
    X.run_all(ledger, media, exp, plan, _bind(demo), group_limit=1)
    engine = Engine(ledger, media, client, demo=demo, tick_s=TICK_S).start()
    try:
        _wait(ledger, exp.id, lambda j: True)
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline and ledger.jobs.in_flight_in_group(exp.id, config.MULEROUTER) == 0:
            time.sleep(0.01)
        stopped = X.stop_all(ledger, exp.id)
        jobs = _wait(ledger, exp.id, lambda j: j.state in (JobState.SUCCEEDED, JobState.CANCELLED)
                     and (j.state == JobState.CANCELLED or j.video_file))
        sent = [j for j in jobs if j.state == JobState.SUCCEEDED]
        assert stopped >= 4 and len(sent) == 6 - stopped and len(emu.submissions) == len(sent)
        # Run all again: only the stopped takes go out
        report = X.run_all(ledger, media, exp, plan, _bind(demo), group_limit=1)
        assert len(report.recorded) == stopped and report.kept == len(sent)
        jobs = _wait(ledger, exp.id, _finished)
    finally:
        engine.stop()
    assert all(_finished(j) for j in jobs) and len(emu.submissions) == 6


def test_over_budget_is_refused_until_confirmed(rig) -> None:
    ledger, media, _client, demo = rig
    exp = _exp(X.Axis(X.AXIS_FIELD, (5, 10, 15), "duration"), takes=2)
    plan = X.expand(exp)
    with pytest.raises(X.OverBudgetError, match="over your cap of \\$1"):
        X.run_all(ledger, media, exp, plan, _bind(demo), cap=1.0, spent=0.5)
    assert X.experiment_job_ids(ledger, exp.id) == []  # nothing recorded
    report = X.run_all(ledger, media, exp, plan, _bind(demo), cap=1.0, spent=0.5, confirmed=True)
    assert len(report.recorded) == 6


def test_an_experiment_interrupted_by_a_restart_resumes(rig, emu) -> None:
    """Sent takes are polled by the next engine, the ones still waiting are sent by it, each once."""
    ledger, media, client, demo = rig
    emu.set_complete_after(1.5)
    exp = _exp(X.Axis(X.AXIS_FIELD, (3, 4, 5), "duration"), takes=2)
    X.save(ledger, media, exp)
    X.run_all(ledger, media, exp, X.expand(exp), _bind(demo), group_limit=2)
    first = Engine(ledger, media, client, demo=demo, tick_s=TICK_S).start()
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline and len(emu.submissions) < 2:
        time.sleep(0.01)
    first.stop()  # the server goes away with 2 takes sent and 4 waiting
    states = [ledger.jobs.get(i).state for i in X.experiment_job_ids(ledger, exp.id)]
    assert states.count(JobState.WAITING) == 4, states
    assert len(emu.submissions) == 2
    # a new server process: same ledger, a new engine (new owner) holding the same demo access
    reopened = X.load(Ledger(ledger.data_dir), exp.id)
    second = Engine(Ledger(ledger.data_dir), media, client, demo=demo, tick_s=TICK_S).start()
    try:
        jobs = _wait(ledger, reopened.id, _finished)
    finally:
        second.stop()
    assert all(_finished(j) for j in jobs) and len(jobs) == 6
    assert len(emu.submissions) == 6  # the two sent before the restart were polled, never resent


def test_save_the_winner_makes_a_library_version_linked_to_its_takes(rig) -> None:
    ledger, media, _client, demo = rig
    exp = _exp(X.Axis(X.AXIS_PROMPT, WORDINGS), takes=2)
    plan = X.expand(exp)
    X.run_all(ledger, media, exp, plan, _bind(demo))
    X.pick(ledger, exp.id, "1", X.PICK_GRID, plan)
    records = ledger.experiments.experiment_cells(exp.id)
    key = X.winner(records)
    lib = library.Library(ledger.data_dir)
    version = X.save_winner(lib, exp, plan.cell(key), records[key], "Fox, winner")
    assert (version.name, version.number, version.endpoint_id) == ("Fox, winner", 1, MR_V3)
    assert lib.body(version)["prompt"] == WORDINGS[1]
    assert set(lib.takes("Fox, winner", 1)) == set(records[key].job_ids) and len(records[key].job_ids) == 2
