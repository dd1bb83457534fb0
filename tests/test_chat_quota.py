"""The operator's chat model is asked at most so often (core/team/chat_quota.py): per person and per server
in a sliding hour, refused in plain words before anything is sent; the demo emulator is free."""

from __future__ import annotations

import pytest

from core.net.llm import ChatSettings
from core.team import chat_quota
from core.team.chat_quota import AskQuota, ChatQuotaError

OPERATOR = ChatSettings(base_url="https://llm.example/v1", model="house-model", key="k")
DEMO = ChatSettings(base_url="http://127.0.0.1:1/v1", model="demo", demo=True)


def test_one_person_asking_in_a_loop_is_stopped_and_another_is_not() -> None:
    quota = AskQuota(per_person=3, per_server=100)
    for i in range(3):
        chat_quota.allow("mallory", OPERATOR, quota=quota, now=1000.0 + i)
    with pytest.raises(ChatQuotaError) as refused:
        chat_quota.allow("mallory", OPERATOR, quota=quota, now=1010.0)
    assert "3 rewrites in the last hour" in refused.value.user_message
    assert "The next one in 60 minutes" in refused.value.user_message  # the first ask leaves at 4600 s
    chat_quota.allow("alice", OPERATOR, quota=quota, now=1010.0)  # someone else asks as usual


def test_new_browser_ids_do_not_get_past_the_servers_cap() -> None:
    quota = AskQuota(per_person=3, per_server=5)
    for i in range(5):  # cookies cleared each time: a new "person" in single-user mode
        chat_quota.allow(f"browser:{i}", OPERATOR, quota=quota, now=1000.0 + i)
    with pytest.raises(ChatQuotaError) as refused:
        chat_quota.allow("browser:new", OPERATOR, quota=quota, now=1100.0)
    assert "5 times on this server" in refused.value.user_message


def test_the_hour_slides_and_a_refusal_counts_nothing() -> None:
    quota = AskQuota(per_person=2, per_server=100, window_s=3600.0)
    chat_quota.allow("ann", OPERATOR, quota=quota, now=0.0)
    chat_quota.allow("ann", OPERATOR, quota=quota, now=1800.0)
    for _ in range(5):
        with pytest.raises(ChatQuotaError):
            chat_quota.allow("ann", OPERATOR, quota=quota, now=3599.0)
    chat_quota.allow("ann", OPERATOR, quota=quota, now=3600.0)  # the first one left the hour
    with pytest.raises(ChatQuotaError):
        chat_quota.allow("ann", OPERATOR, quota=quota, now=3601.0)


def test_the_demo_emulator_is_free_and_never_counted() -> None:
    quota = AskQuota(per_person=1, per_server=1)
    for i in range(20):
        chat_quota.allow("ann", DEMO, quota=quota, now=float(i))
    chat_quota.allow("ann", OPERATOR, quota=quota, now=30.0)  # the one real question is still there


def test_people_who_went_quiet_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chat_quota.config, "CHAT_QUOTA_PEOPLE_KEPT", 10)
    quota = AskQuota(per_person=5, per_server=10_000)
    for i in range(50):
        quota.take(f"browser:{i}", now=float(i))
    quota.take("late", now=10_000.0)
    assert len(quota._by_person) <= 11
