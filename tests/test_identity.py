"""Who is using the app (core/team/identity.py): login first, then a trusted header only when configured, else
single-user; ids normalised and capped; admins; who may delete what (checked in core too)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import config
from core.team import identity as ident
from core.team.identity import HEADER, LOGIN, SINGLE, Identity, TeamSettings

PROXY = TeamSettings(trusted_header="X-Forwarded-Email", admins=frozenset({"boss@example.com"}))
LOGIN_ON = TeamSettings(login_configured=True, trusted_header="X-Forwarded-Email",
                        admins=frozenset({"boss@example.com"}))


def test_single_user_when_nothing_is_configured_and_a_spoofed_header_is_ignored() -> None:
    who = ident.resolve(None, {"X-Forwarded-Email": "mallory@example.com"}, TeamSettings())
    assert who == ident.SINGLE_USER and who.id == "" and who.source == SINGLE
    assert not who.needs_login and who.single_user
    # AppTest's default st.user ({"email": …} without is_logged_in) is no login either
    assert ident.resolve({"email": "test@example.com"}, {}, TeamSettings()).source == SINGLE


def test_a_trusted_header_is_honoured_only_when_configured_and_matched_without_case() -> None:
    who = ident.resolve(None, {"x-forwarded-email": "  Ann@Example.COM "}, PROXY)
    assert (who.id, who.source, who.is_admin) == ("ann@example.com", HEADER, False)
    other = ident.resolve(None, {"X-Forwarded-User": "ann"}, PROXY)  # another header: not the configured one
    assert other.needs_login and other.id == ""
    boss = ident.resolve(None, {"X-Forwarded-Email": "BOSS@example.com"}, PROXY)
    assert boss.is_admin


@pytest.mark.parametrize("value", ["", "   ", "a b@example.com", "ann@example.com\r\nX-Evil: 1", "x\x00y",
                                   "a" * (config.IDENTITY_MAX_CHARS + 1)])
def test_a_header_value_that_is_not_a_person_is_nobody(value: str) -> None:
    who = ident.resolve(None, {"X-Forwarded-Email": value}, PROXY)
    assert who.id == "" and who.needs_login  # no fall back to single-user behind a proxy


def test_the_longest_allowed_id_is_kept_whole() -> None:
    value = "a" * (config.IDENTITY_MAX_CHARS - len("@x.io")) + "@x.io"
    assert ident.resolve(None, {"X-Forwarded-Email": value}, PROXY).id == value


def test_login_comes_first_and_uses_the_email_else_sub() -> None:
    user = {"is_logged_in": True, "email": "Ann@Example.com", "name": "Ann Lee", "sub": "123"}
    who = ident.resolve(user, {"X-Forwarded-Email": "mallory@example.com"}, LOGIN_ON)
    assert (who.id, who.name, who.source) == ("ann@example.com", "Ann Lee", LOGIN)
    assert who.label == "Ann Lee (ann@example.com)"
    assert ident.resolve({"is_logged_in": True, "sub": "Google|ABC"}, {}, LOGIN_ON).id == "Google|ABC"
    assert ident.resolve({"is_logged_in": True, "email": "boss@example.com"}, {}, LOGIN_ON).is_admin


def test_login_configured_and_nobody_logged_in_needs_login_whatever_the_headers() -> None:
    for user in (None, {"is_logged_in": False}, {}):
        who = ident.resolve(user, {"X-Forwarded-Email": "mallory@example.com"}, LOGIN_ON)
        assert who.needs_login and who.source == LOGIN
    # Streamlit adds is_logged_in only when [auth] is configured: its presence alone means login is on
    assert ident.resolve({"is_logged_in": False}, {}, TeamSettings()).needs_login


def test_display_names_are_plain_and_capped() -> None:
    long = "N" * 500
    who = ident.resolve({"is_logged_in": True, "email": "a@b.c", "name": long + "\x07"}, {}, LOGIN_ON)
    assert who.name == "N" * config.IDENTITY_NAME_MAX_CHARS
    assert ident.display_name(None, "a@b.c") == "a@b.c"


def test_team_settings_come_from_the_environment_then_the_secrets(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(config.TRUSTED_HEADER_ENV, raising=False)
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[team]\ntrusted_header = "X-Forwarded-Email"\nadmins = ["Boss@Example.com"]\n'
                       '[auth]\nredirect_uri = "http://localhost:8501/oauth2callback"\n', encoding="utf-8")
    data = ident.secrets_data([secrets])
    settings = ident.team_settings(data)
    assert settings == TeamSettings(True, "X-Forwarded-Email", frozenset({"boss@example.com"}))
    monkeypatch.setenv(config.TRUSTED_HEADER_ENV, "X-Auth-Request-Email")
    assert ident.team_settings(data).trusted_header == "X-Auth-Request-Email"
    monkeypatch.setenv(config.TRUSTED_HEADER_ENV, "not a header: name")
    assert ident.team_settings(data).trusted_header == ""  # never honoured by accident
    monkeypatch.delenv(config.TRUSTED_HEADER_ENV)
    assert ident.team_settings({}) == TeamSettings()
    assert ident.team_settings({"team": "oops"}) == TeamSettings()


def test_secrets_are_read_from_the_named_file_when_set(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = tmp_path / "team.toml"
    secrets.write_text('[team]\nadmins = "root@example.com"\n', encoding="utf-8")
    monkeypatch.setenv(getattr(config, "SECRETS_FILE_ENV", "STUDIO_SECRETS_FILE"), str(secrets))
    assert ident.team_settings().admins == frozenset({"root@example.com"})
    broken = tmp_path / "broken.toml"
    broken.write_text("[team\n", encoding="utf-8")
    assert ident.secrets_data([broken, secrets])["team"]["admins"] == "root@example.com"


ANN = Identity("ann@example.com", "Ann", HEADER)
BOB = Identity("bob@example.com", "Bob", HEADER)
BOSS = Identity("boss@example.com", "Boss", HEADER, is_admin=True)
NOBODY = Identity(source=HEADER)


def test_only_the_owner_or_an_admin_may_delete() -> None:
    assert ident.may_delete(ANN, "ann@example.com")
    assert not ident.may_delete(BOB, "ann@example.com")
    assert ident.may_delete(BOSS, "ann@example.com")
    assert not ident.may_delete(ANN, "")  # made before owners were recorded: an admin's to delete
    assert ident.may_delete(BOSS, "")
    assert not ident.may_delete(NOBODY, "")
    assert ident.may_delete(ident.SINGLE_USER, "ann@example.com")  # single-user: one person, all theirs
    with pytest.raises(ident.NotAllowedError, match=r"Only ann@example\.com or an admin"):
        ident.check_delete(BOB, "ann@example.com")
