"""A team in AppTest: people named by the trusted proxy header (AppTest has no request headers, so the one
function that reads them, ui.session._request_headers, is patched) or by a logged-in st.user (AppTest.user).

Mine / Everyone on Jobs, Gallery and Compare; no Delete for someone else's job (a line says whose it is),
an admin deletes; Generate and Run all refused past the operator's daily budget with the plain message
and nothing recorded; Settings shows the person's spend today (admins: everyone's); the sign-in gate.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from bench.pages import T0, finished_job
from core import config
from core.compare import experiments as X
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache
from core.team import identity as ident
from tests.app.test_create_pages import GENERATE, PAGES, prefix
from ui import session
from ui.create import page as create

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "streamlit_app.py"
SAMPLE = ROOT / "core" / "emulator" / "assets"
ANN, BOB, BOSS = "ann@example.com", "bob@example.com", "boss@example.com"
MR_T2V = "mulerouter/kling-v3/text-to-video"
HEADER = "X-Forwarded-Email"
SECRETS = f"""
[team]
trusted_header = "{HEADER}"
admins = ["{BOSS}"]
"""
BUDGET = """
[budget]
per_person_usd_per_day = 0.50
team_usd_per_day = 5
timezone = "Europe/Paris"
"""


class Person:
    """Who the patched request headers name (None: no header at all)."""

    email: str | None = None


@pytest.fixture
def team(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A team behind a proxy (the trusted header configured in the secrets), demo mode, no budget."""
    for name in config.KEY_ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv(config.TRUSTED_HEADER_ENV, raising=False)
    monkeypatch.setenv(config.EMULATOR_COMPLETE_AFTER_ENV, "1")
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(SECRETS, encoding="utf-8")
    monkeypatch.setenv(getattr(config, "SECRETS_FILE_ENV", "STUDIO_SECRETS_FILE"), str(secrets))
    monkeypatch.setattr(session, "_request_headers",
                        lambda: {HEADER: Person.email} if Person.email is not None else {})
    Person.email = None
    return data_dir


@pytest.fixture
def budgeted(team: Path, tmp_path: Path, emu, api_key: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The same team on a real router (the test emulator with the operator's key), with daily budgets."""
    (tmp_path / "secrets.toml").write_text(SECRETS + BUDGET, encoding="utf-8")
    for router in config.ROUTERS:
        monkeypatch.setenv(config.KEY_ENV_VARS[router], api_key)
        monkeypatch.setenv(config.BASE_URL_ENV_VARS[router], emu.base_url)
    return team


def as_person(email: str | None, page: str, **query: str) -> AppTest:
    Person.email = email
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.session_state["studio.router"] = config.MULEROUTER
    at.run()
    for name, value in query.items():
        at.query_params[name] = value
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def seed(data_dir: Path, owners: list[str], *, demo: bool = True, at: float = T0) -> list:
    """Finished jobs with a video, one per owner (oldest first)."""
    media = MediaCache(data_dir / config.MEDIA_DIRNAME)
    video = media.put_bytes(next(SAMPLE.glob("*.mp4")).read_bytes(), "mp4")
    jobs = [finished_job(MR_T2V, f"Scene {i} by {o}", at + i, video, demo=demo)
            .model_copy(update={"owner": o}) for i, o in enumerate(owners)]
    Ledger(data_dir).jobs.add_many(jobs)
    return jobs


def captions(at: AppTest) -> list[str]:
    return [c.value.replace("\\", "") for c in at.caption]


def spend_tables(at: AppTest) -> list:
    return [d.value for d in at.dataframe if "person" in d.value.columns]


def button_keys(at: AppTest) -> set[str]:
    return {b.key for b in at.button}


# --- Mine / Everyone ----------------------------------------------------------------------------------------


def test_mine_and_everyone_on_jobs_and_gallery_follow_the_person(team: Path) -> None:
    seed(team, [ANN, BOB, ANN])
    at = as_person(ANN, "app_pages/jobs.py")
    assert at.segmented_control(key="jobs.scope").options == ["Everyone", "Mine"]
    assert len(at.dataframe[0].value) == 3
    at.segmented_control(key="jobs.scope").set_value("Mine").run()
    assert len(at.dataframe[0].value) == 2
    bob = as_person(BOB, "app_pages/jobs.py")
    bob.segmented_control(key="jobs.scope").set_value("Mine").run()
    assert len(bob.dataframe[0].value) == 1

    gallery = as_person(ANN, "app_pages/gallery.py")
    assert any(c.startswith("3 videos") for c in captions(gallery))
    gallery.segmented_control(key="gallery.scope").set_value("Mine").run()
    assert any(c.startswith("2 videos") for c in captions(gallery)), captions(gallery)
    assert any(f"by {ANN}" in c for c in captions(gallery))


def test_compare_lists_mine_or_everyones_experiments(team: Path) -> None:
    ledger = Ledger(team)
    media = MediaCache(team / config.MEDIA_DIRNAME)
    for owner, prompt in ((ANN, "Ann's heron"), (BOB, "Bob's fox")):
        X.save(ledger, media, X.new_experiment(MR_T2V, {"prompt": prompt}, mode="text"), owner=owner)
    at = as_person(ANN, "app_pages/compare.py")
    assert len(at.selectbox(key="compare.picker.").options) == 2
    at.segmented_control(key="compare.scope").set_value("Mine").run()
    [only] = at.selectbox(key="compare.picker.").options
    assert "heron" in only


# --- delete rights ------------------------------------------------------------------------------------------


def test_no_delete_for_someone_elses_job_the_owner_and_an_admin_can(team: Path) -> None:
    ann_job, bob_job = seed(team, [ANN, BOB])
    bob = as_person(BOB, "app_pages/jobs.py", job=ann_job.id)
    assert f"jobs.delete.{ann_job.id}" not in button_keys(bob)
    assert any(f"Made by {ANN}: only they or an admin can delete it." in c for c in captions(bob))
    with pytest.raises(ident.NotAllowedError):  # the core path checks too, whatever the page drew
        ident.delete_job(Ledger(team), ann_job.id, ident.Identity(BOB, BOB, ident.HEADER))
    assert Ledger(team).jobs.get(ann_job.id) is not None

    ann = as_person(ANN, "app_pages/jobs.py", job=ann_job.id)
    ann.button(key=f"jobs.delete.{ann_job.id}").click().run()
    assert not ann.exception and Ledger(team).jobs.get(ann_job.id) is None

    boss = as_person(BOSS, "app_pages/jobs.py", job=bob_job.id)
    assert any(":material/person:" in c and "admin" in c for c in captions(boss))
    boss.button(key=f"jobs.delete.{bob_job.id}").click().run()
    assert not boss.exception and Ledger(team).jobs.get(bob_job.id) is None


def test_an_experiment_is_deleted_only_by_its_owner_or_an_admin(team: Path) -> None:
    ledger = Ledger(team)
    exp = X.new_experiment(MR_T2V, {"prompt": "Ann's heron"}, mode="text")
    X.save(ledger, MediaCache(team / config.MEDIA_DIRNAME), exp, owner=ANN)
    bob = as_person(BOB, "app_pages/compare.py", exp=exp.id)
    assert f"compare.{exp.id}.delete" not in button_keys(bob)
    assert any(f"Made by {ANN}" in c for c in captions(bob))
    with pytest.raises(ident.NotAllowedError):
        ident.delete_experiment(ledger, exp.id, ident.Identity(BOB, BOB, ident.HEADER))
    boss = as_person(BOSS, "app_pages/compare.py", exp=exp.id)
    boss.button(key=f"compare.{exp.id}.delete").click().run()
    assert not boss.exception and ledger.experiments.get_experiment(exp.id) is None


# --- the operator's daily budget ----------------------------------------------------------------------------


def test_generate_past_the_daily_budget_is_refused_with_the_plain_message(budgeted: Path) -> None:
    seed(budgeted, [ANN], demo=False, at=time.time() - 60)  # $0.42 of Ann's $0.50 already used today
    at = as_person(ANN, PAGES["text"])
    p = prefix(at, "text")
    at.text_area(key=f"{p}.prompt").input("A heron lifts off a misty lake").run()
    assert any("Daily budget set by the operator: $0.42 of $0.50" in c for c in captions(at)), captions(at)
    at.session_state[create._k("text", "clicked")] = None
    at.button(key=GENERATE["text"]).click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any(e.startswith("Nothing was sent: over the daily budget. You have used $0.42 of your $0.50 "
                            "for today; this video would cost $") and e.endswith(
        "The limit resets at midnight (Europe/Paris).") for e in errors), errors
    assert Ledger(budgeted).jobs.count() == 1  # nothing recorded, nothing sent
    assert at.text_area(key=f"{p}.prompt").value == "A heron lifts off a misty lake"  # the form kept it

    bob = as_person(BOB, PAGES["text"])  # another person's budget is untouched
    bob.text_area(key=f"{prefix(bob, 'text')}.prompt").input("A fox in the snow").run()
    bob.button(key=GENERATE["text"]).click().run()
    assert Ledger(budgeted).jobs.count() == 2 and Ledger(budgeted).jobs.list()[0].owner == BOB


def test_run_all_past_the_daily_budget_is_refused_and_records_nothing(budgeted: Path) -> None:
    seed(budgeted, [ANN], demo=False, at=time.time() - 60)
    ledger = Ledger(budgeted)
    exp = X.new_experiment(MR_T2V, {"prompt": "A heron lifts off", "duration": 5}, mode="text")
    X.save(ledger, MediaCache(budgeted / config.MEDIA_DIRNAME), exp, owner=ANN)
    at = as_person(ANN, "app_pages/compare.py", exp=exp.id)
    at.button(key=f"compare.{exp.id}.run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    said = "over the daily budget. You have used $0.42 of your $0.50 for today"
    assert any(said in e for e in errors), errors
    assert ledger.jobs.count() == 1 and X.experiment_job_ids(ledger, exp.id) == []


def test_settings_shows_the_persons_spend_and_admins_see_everyones(budgeted: Path) -> None:
    seed(budgeted, [ANN, BOB, ANN], demo=False, at=time.time() - 60)
    seed(budgeted, [ANN], demo=True, at=time.time() - 30)  # demo: free, never counted
    ann = as_person(ANN, "app_pages/settings.py")
    lines = [m.value.replace("\\", "") for m in ann.markdown]
    assert any(t.startswith("Today you have used $0.84 of your $0.50 ($0.00 left") for t in lines), lines
    assert any(t.startswith("The whole team today: $1.26 of $5.00") for t in lines), lines
    assert not spend_tables(ann)
    assert any("Cap for this session" in n.label for n in ann.number_input)  # the soft cap, told apart

    boss = as_person(BOSS, "app_pages/settings.py")
    [table] = spend_tables(boss)
    assert dict(zip(table["person"], table["spent"], strict=True)) == pytest.approx({ANN: 0.84, BOB: 0.42})


# --- signing in ---------------------------------------------------------------------------------------------


def test_behind_the_proxy_with_no_header_nothing_is_usable(team: Path) -> None:
    at = as_person(None, PAGES["text"])
    assert [t.value for t in at.title] == ["Kling Prompt Studio"]
    assert any("sign-in did not reach the app" in w.value for w in at.warning)
    assert GENERATE["text"] not in button_keys(at)


def test_streamlit_login_gate_and_the_logged_in_person(data_dir: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for name in config.KEY_ENV_VARS.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(session, "_request_headers", lambda: {HEADER: "mallory@example.com"})  # ignored
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.user = {"is_logged_in": False}  # Streamlit sets this flag only when [auth] is configured
    at.run()
    assert [t.value for t in at.title] == ["Kling Prompt Studio"]
    assert "frame.login" in button_keys(at) and GENERATE["text"] not in button_keys(at)

    seed(data_dir, [ANN, BOB])
    at = AppTest.from_file(str(APP), default_timeout=30)
    at.user = {"is_logged_in": True, "email": "Ann@Example.com", "name": "Ann Lee"}
    at.run()
    assert any("Ann Lee (ann@example.com)" in c for c in captions(at))
    assert "frame.logout" in button_keys(at)
    at.switch_page("app_pages/jobs.py").run()
    at.segmented_control(key="jobs.scope").set_value("Mine").run()
    assert len(at.dataframe[0].value) == 1
