"""Storyboard arithmetic: sums, fit to duration, split/move/remove/add, timeline and numbering."""

from __future__ import annotations

import itertools

import pytest

from core import config
from core.authoring import check
from core.authoring import storyboard as sb


def shots(*seconds: int, indexed: bool = False) -> list[dict]:
    out = [{"prompt": f"shot {i + 1}", "duration": s} for i, s in enumerate(seconds)]
    return sb.renumber(out, indexed)


def test_total_and_gap_signed():
    s = shots(2, 3, 4)
    assert sb.total(s) == 9
    assert sb.gap(s, 10) == -1
    assert sb.gap(s, 7) == 2
    assert sb.gap(s, 9) == 0
    assert sb.over_under(s, 7) == (2, 0)
    assert sb.over_under(s, 12) == (0, 3)


def test_total_ignores_unfinished_values():
    assert sb.total([{"prompt": "a", "duration": None}, {"prompt": "b", "duration": 3}, {"prompt": "c"}]) == 3


@pytest.mark.parametrize("seconds", [(1,), (2, 3), (5, 1, 1), (1, 1, 1, 1), (10, 2), (3, 3, 3, 3, 3, 3)])
@pytest.mark.parametrize("duration", [3, 5, 6, 10, 15])
def test_fit_to_duration_sums_keeps_order_and_minimum(seconds, duration):
    before = shots(*seconds)
    if len(before) > duration:
        with pytest.raises(ValueError, match="remove a shot"):
            sb.fit_to_duration(before, duration)
        return
    after = sb.fit_to_duration(before, duration)
    assert sb.total(after) == duration
    assert [s["prompt"] for s in after] == [s["prompt"] for s in before]
    assert all(s["duration"] >= config.SHOT_MIN_S for s in after)
    assert before == shots(*seconds)  # input untouched
    assert sb.fit_to_duration(before, duration) == after  # deterministic
    assert sb.fit_to_duration(after, duration) == after  # already fitting: unchanged


def test_fit_adds_to_longest_first_and_takes_from_longest():
    assert [s["duration"] for s in sb.fit_to_duration(shots(2, 4, 3), 10)] == [2, 5, 3]
    assert [s["duration"] for s in sb.fit_to_duration(shots(2, 4, 3), 12)] == [3, 5, 4]
    assert [s["duration"] for s in sb.fit_to_duration(shots(2, 6, 3), 8)] == [2, 3, 3]


def test_fit_result_passes_the_schema_for_both_routers():
    mr = sb.fit_to_duration(shots(4, 4, 4), 10)
    am = sb.fit_to_duration(shots(4, 4, 4, indexed=True), 10)
    assert [s["index"] for s in am] == [1, 2, 3]
    base = {"prompt": "story", "multi_shot": True, "shot_type": "customize", "duration": 10}
    assert check.problems("mulerouter/kling-v3/text-to-video", {**base, "multi_prompt": mr}) == []
    am_body = {**base, "model": "kling-v3-omni", "multi_prompt": am}
    assert check.problems("apimart/kling-v3-omni", am_body) == []


def test_fit_refuses_with_plain_words():
    with pytest.raises(ValueError, match="no shots"):
        sb.fit_to_duration([], 5)
    with pytest.raises(ValueError, match="4 shots need at least 4 s"):
        sb.fit_to_duration(shots(1, 1, 1, 1), 3)


def test_split_shot_halves_and_copies_prompt():
    out = sb.split_shot(shots(5, 2, indexed=True), 0)
    assert out == [
        {"index": 1, "prompt": "shot 1", "duration": 3},
        {"index": 2, "prompt": "shot 1", "duration": 2},
        {"index": 3, "prompt": "shot 2", "duration": 2},
    ]
    assert sb.total(out) == 7


def test_split_refusals():
    with pytest.raises(ValueError, match="at least 2 s"):
        sb.split_shot(shots(1, 4), 0)
    with pytest.raises(ValueError, match=f"at most {config.SHOTS_MAX}"):
        sb.split_shot(shots(*([2] * config.SHOTS_MAX)), 0)
    with pytest.raises(ValueError, match="no shot 3"):
        sb.split_shot(shots(2, 2), 2)


def test_move_shot_every_pair_keeps_the_multiset_and_numbers():
    base = shots(1, 2, 3, 4, indexed=True)
    for i, j in itertools.product(range(4), repeat=2):
        out = sb.move_shot(base, i, j)
        assert out[j]["prompt"] == base[i]["prompt"]
        assert sorted(s["prompt"] for s in out) == sorted(s["prompt"] for s in base)
        assert [s["index"] for s in out] == [1, 2, 3, 4]
    assert [s["prompt"] for s in sb.move_shot(base, 0, 1)] == ["shot 2", "shot 1", "shot 3", "shot 4"]


def test_remove_and_add():
    out = sb.remove_shot(shots(1, 2, 3, indexed=True), 1)
    assert [(s["index"], s["prompt"]) for s in out] == [(1, "shot 1"), (2, "shot 3")]
    with pytest.raises(ValueError, match="at least one shot"):
        sb.remove_shot(shots(3), 0)
    added = sb.add_shot(shots(2, indexed=True), "new", 3)
    assert added[-1] == {"index": 2, "prompt": "new", "duration": 3}
    assert sb.add_shot([], "first") == [{"prompt": "first", "duration": config.SHOT_MIN_S}]
    with pytest.raises(ValueError, match="at most"):
        sb.add_shot(shots(*([1] * config.SHOTS_MAX)))
    assert sb.missing_seconds(shots(2, 1), 6) == 3
    assert sb.missing_seconds(shots(4, 4), 6) == config.SHOT_MIN_S


def test_renumber_both_ways():
    am = sb.renumber(shots(1, 2), True)
    assert [s["index"] for s in am] == [1, 2]
    assert sb.renumber(am, False) == shots(1, 2)
    assert sb.renumber([{"index": 7, "prompt": "x", "duration": 1}], True)[0]["index"] == 1


def test_timeline_segments_and_shares():
    segs = sb.timeline(shots(2, 3), 10)
    assert segs == [sb.Segment("Shot 1", 0, 2, 0.2), sb.Segment("Shot 2", 2, 3, 0.3)]
    assert sb.timeline(shots(2), 0)[0].share == 0.0


def test_shot_type_explanations():
    assert "script" in sb.shot_type_explanation("customize")
    assert "not used" in sb.shot_type_explanation("customize")
    assert "cuts your prompt" in sb.shot_type_explanation("intelligence")
    assert "Choose" in sb.shot_type_explanation("other")


def test_bar_parts_cut_a_shot_at_the_video_end():
    parts = sb.bar_parts(shots(3, 4, 5), 5)
    assert [(p.shot, p.start, p.end, p.over) for p in parts] == [
        (1, 0, 3, False), (2, 3, 5, False), (2, 5, 7, True), (3, 7, 12, True)]
    assert [(p.shot, p.over) for p in sb.bar_parts(shots(2, 0, 3), 10)] == [(1, False), (3, False)]


def test_video_length_for_and_fit_preview():
    assert sb.video_length_for(shots(3, 4, 5)) == 12
    assert sb.video_length_for(shots(10, 6)) is None and sb.video_length_for(shots(1, 1)) is None
    assert sb.fit_preview(shots(3, 4, 5), 5) == "3/4/5 s → 1/2/2 s"
    assert sb.fit_preview(shots(2, 3), 5) is None  # adds up: nothing to do
    assert sb.fit_preview(shots(1, 1, 1, 1), 3) is None  # cannot fit 4 shots in 3 s


def test_the_main_prompt_is_unused_only_with_your_own_shots():
    assert not sb.uses_main_prompt(True, "customize")
    assert sb.uses_main_prompt(True, "intelligence") and sb.uses_main_prompt(False, "customize")
