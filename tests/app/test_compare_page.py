"""The Compare page in AppTest: Compare variants from a Create page opens an experiment with the draft as
its base; axes are set; the matrix shows cost and the cap; Run all records the takes in the experiment's
group; ratings, notes and picks persist in the ledger; Save the winner makes a Library version."""

from __future__ import annotations

import time
from pathlib import Path

from core import config, server
from core.compare import experiments as X
from core.compare import grid
from core.jobs.record import JobState
from core.storage.ledger import Ledger
from tests.app.test_create_pages import demo, open_page, prefix
from ui import session
from ui.compare import compare_view

__all__ = ["demo"]
COMPARE = "app_pages/compare.py"


def _open_compare(data_dir: Path):
    at = open_page("text")
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A red fox runs through fresh snow").run()
    at.button(key="create.text.__compare").click().run()
    assert not at.exception, [e.value for e in at.exception]
    exp_id = at.session_state[session.COMPARE_OPEN_KEY]
    at.switch_page(COMPARE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at, exp_id


def _settle(ledger: Ledger, exp_id: str, timeout: float = 60.0) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = [ledger.jobs.get(i) for i in X.experiment_job_ids(ledger, exp_id)]
        if jobs and all(j.state == JobState.SUCCEEDED and j.video_file for j in jobs):
            return jobs
        time.sleep(0.2)
    return [ledger.jobs.get(i) for i in X.experiment_job_ids(ledger, exp_id)]


def test_compare_variants_then_axes_run_rate_pick_and_save(demo: Path) -> None:
    at, exp_id = _open_compare(demo)
    assert at.title[0].value == "Compare"
    exp = X.load(Ledger(demo), exp_id)
    assert exp is not None and exp.base["prompt"] == "A red fox runs through fresh snow"
    assert exp.endpoint_id == "mulerouter/kling-v3/text-to-video"

    # a duration axis: 5 s and 10 s
    at.segmented_control(key=f"compare.{exp_id}.kind").set_value(X.AXIS_FIELD).run()
    at.selectbox(key=f"compare.{exp_id}.field").set_value("duration").run()
    at.multiselect(key=f"compare.{exp_id}.values.duration").set_value([5, 10]).run()
    at.button(key=f"compare.{exp_id}.add").click().run()
    assert not at.exception, [e.value for e in at.exception]
    exp = X.load(Ledger(demo), exp_id)
    assert [(a.kind, a.field, a.values) for a in exp.axes] == [(X.AXIS_FIELD, "duration", (5, 10))]
    line = " ".join(m.value.replace("\\", "") for m in at.markdown)
    assert "2 videos, about $" in line and "demo mode: nothing is charged" in line

    at.button(key=f"compare.{exp_id}.run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    ledger = Ledger(demo)
    jobs = _settle(ledger, exp_id)
    assert len(jobs) == 2 and all(j.group == exp_id and j.group_limit == config.EXPERIMENT_GROUP_LIMIT_DEFAULT
                                  for j in jobs)
    assert sorted(j.body["duration"] for j in jobs) == [5, 10]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    if compare_view.synced_grid is None:  # the plain grid: st.video per cell, from the media route
        assert len(at.get("video")) == 2
        assert all("/api/media/sha256-" in v.proto.url for v in at.get("video"))
    statuses = [s for df in at.dataframe for s in df.value.get("status", [])]
    assert statuses.count("succeeded") == 2, statuses

    # rate, note and pick the 10 s cell: kept in the ledger
    at.session_state[f"compare.{exp_id}.1.rating"] = 4  # 5 stars (0-based)
    at.run()
    X.set_rating(ledger, exp_id, "1", 5)  # what the widget's callback calls
    at.text_input(key=f"compare.{exp_id}.1.note").input("smoother motion").run()
    at.selectbox(key=f"compare.{exp_id}.1.pick").set_value(X.PICK_GRID).run()
    assert not at.exception, [e.value for e in at.exception]
    record = ledger.experiments.experiment_cells(exp_id)["1"]
    assert (record.rating, record.note, record.pick) == (5, "smoother motion", X.PICK_GRID)

    name = at.text_input(key=f"compare.{exp_id}.winner_name.1")  # keyed by the winning cell
    assert name.value == "A red fox runs through fresh snow · 10 s"  # named after the winner itself
    name.input("Fox in snow").run()
    at.button(key=f"compare.{exp_id}.save_winner").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Saved “Fox in snow” version 1" in s.value for s in at.success)
    lib = server.services(demo, start=False).library
    version = lib.latest("Fox in snow")
    assert version.body["duration"] == 10
    assert lib.takes("Fox in snow", 1) == list(record.job_ids)


def test_over_budget_run_asks_first_and_sends_nothing(demo: Path) -> None:
    at, exp_id = _open_compare(demo)
    at.session_state[session.BUDGET_KEY] = 0.1
    at.segmented_control(key=f"compare.{exp_id}.kind").set_value(X.AXIS_FIELD).run()
    at.selectbox(key=f"compare.{exp_id}.field").set_value("mode").run()
    at.multiselect(key=f"compare.{exp_id}.values.mode").set_value(["std", "pro"]).run()
    at.button(key=f"compare.{exp_id}.add").click().run()
    at.button(key=f"compare.{exp_id}.run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("over your cap" in w.value for w in at.warning), [w.value for w in at.warning]
    assert X.experiment_job_ids(Ledger(demo), exp_id) == []
    at.button(key=f"compare.{exp_id}.run_anyway").click().run()
    assert len(X.experiment_job_ids(Ledger(demo), exp_id)) == 2


def test_reopened_by_link_in_a_new_session(demo: Path) -> None:
    _at, exp_id = _open_compare(demo)
    from streamlit.testing.v1 import AppTest

    from tests.app.test_create_pages import APP

    fresh = AppTest.from_file(str(APP), default_timeout=30)
    fresh.query_params["exp"] = exp_id
    fresh.run()
    fresh.switch_page(COMPARE).run()
    assert not fresh.exception, [e.value for e in fresh.exception]
    assert fresh.selectbox(key=f"compare.picker.{exp_id}").value == exp_id


# --- the concurrency limit is a setting; the stars widget; the review pack and the grid video ------------

SETTINGS = "app_pages/settings.py"


def _duration_axis(at, exp_id: str) -> None:
    at.segmented_control(key=f"compare.{exp_id}.kind").set_value(X.AXIS_FIELD).run()
    at.selectbox(key=f"compare.{exp_id}.field").set_value("duration").run()
    at.multiselect(key=f"compare.{exp_id}.values.duration").set_value([5, 10]).run()
    at.button(key=f"compare.{exp_id}.add").click().run()
    assert not at.exception, [e.value for e in at.exception]


def _run_two_cells(demo: Path):
    at, exp_id = _open_compare(demo)
    _duration_axis(at, exp_id)
    at.button(key=f"compare.{exp_id}.run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    jobs = _settle(Ledger(demo), exp_id)
    assert len(jobs) == 2 and all(j.video_file for j in jobs), [j.state for j in jobs]
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at, exp_id, jobs


def test_group_limit_is_a_setting_the_compare_page_shares(demo: Path) -> None:
    at, exp_id = _open_compare(demo)
    at.switch_page(SETTINGS).run()
    assert "Compare" in [s.value for s in at.subheader]
    box = at.number_input(key="settings.compare_group_limit_input")
    assert box.value == config.EXPERIMENT_GROUP_LIMIT_DEFAULT and (box.min, box.max) == (1, 8)
    box.set_value(5).run()
    assert at.session_state[session.GROUP_LIMIT_KEY] == 5

    at.switch_page(COMPARE).run()  # the page's own control shows the setting and writes it back
    assert not at.exception, [e.value for e in at.exception]
    assert at.number_input(key=compare_view.GROUP_LIMIT_INPUT_KEY).value == 5
    at.number_input(key=compare_view.GROUP_LIMIT_INPUT_KEY).set_value(3).run()
    assert at.session_state[session.GROUP_LIMIT_KEY] == 3
    at.switch_page(SETTINGS).run()
    assert at.number_input(key="settings.compare_group_limit_input").value == 3
    at.switch_page(COMPARE).run()
    _duration_axis(at, exp_id)
    at.button(key=f"compare.{exp_id}.run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    jobs = [Ledger(demo).jobs.get(i) for i in X.experiment_job_ids(Ledger(demo), exp_id)]
    assert len(jobs) == 2 and {j.group_limit for j in jobs} == {3}
    assert any("3 at a time per router" in t.value for t in at.toast), [t.value for t in at.toast]


def test_stars_review_pack_and_grid_video_from_the_page(demo: Path) -> None:
    import zipfile
    from urllib.parse import parse_qs, unquote, urlparse

    import av

    from core.compare import grid_video
    from core.storage.media_cache import MediaCache

    at, exp_id, jobs = _run_two_cells(demo)
    ledger = Ledger(demo)

    stars = at.feedback(key=f"compare.{exp_id}.0.rating")  # 4 stars (0-based 3) through the widget
    stars.set_value(3).run()
    assert not at.exception, [e.value for e in at.exception]
    assert ledger.experiments.experiment_cells(exp_id)["0"].rating == 4

    media = MediaCache(demo / config.MEDIA_DIRNAME)

    def linked(label: str) -> tuple[Path, str]:
        buttons = [b for b in at.link_button if b.value == label]
        assert len(buttons) == 1, [b.value for b in at.link_button]
        url = urlparse(buttons[0].proto.url)
        assert url.path.startswith(config.MEDIA_ROUTE_PREFIX + "/")
        name = unquote(url.path.rsplit("/", 1)[1])
        return media.path(name), next(iter(parse_qs(url.query).values()))[0]

    assert not [b for b in at.link_button if b.value.startswith("Download")]
    at.button(key=f"compare.{exp_id}.pack").click().run()
    assert not at.exception, [e.value for e in at.exception]
    pack, download_name = linked("Download review pack")
    assert download_name == f"compare-{exp_id}.zip"
    with zipfile.ZipFile(pack) as z:
        names = set(z.namelist())
        assert "index.html" in names
        page = z.read("index.html").decode()
        for job in jobs:
            arc = f"videos/{job.video_file}"
            assert arc in names and arc in page
            assert z.read(arc) == media.path(job.video_file).read_bytes()
        assert z.testzip() is None
    assert "★★★★☆" in page  # the rating set through the stars travels with the pack

    at.button(key=f"compare.{exp_id}.gridvideo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    movie, download_name = linked("Download grid as video")
    assert download_name == f"compare-{exp_id}-grid.mp4"
    layout = grid.grid_layout(X.load(ledger, exp_id), None, None)
    rows, cols = len(layout.keys), len(layout.keys[0])
    w, h, _ = grid_video.probe(media.path(jobs[0].video_file))
    expected = grid_video.plan_layout(rows, cols, (w, h), grid_video.DEFAULT_MAX_WIDTH)
    with av.open(str(movie)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (expected.width, expected.height)
        assert stream.codec_context.name == "h264"
        assert sum(1 for _ in container.decode(video=0)) > 0
    with open(movie, "rb") as fh:
        assert fh.read(12)[4:8] == b"ftyp"
