"""core/authoring/pricing.py: the editable rate table, estimates per endpoint, session spend."""

from __future__ import annotations

import pytest

from core import config
from core.authoring import catalog
from core.authoring.pricing import (
    ROW_FIELDS,
    RateKey,
    default_table,
    estimate,
    rows_to_table,
    session_spend,
    table_to_rows,
)
from core.jobs.record import JobState, new_job, transition
from core.models import TaskRef

AM_OMNI = catalog.get("apimart/kling-v3-omni")
AM_V3 = catalog.get("apimart/kling-v3")
MR_V3 = catalog.get("mulerouter/kling-v3/text-to-video")
MR_OMNI_T2V = catalog.get("mulerouter/kling-v3-omni/text-to-video")
MR_V2V = catalog.get("mulerouter/kling-v3-omni/video-to-video")
MR_REF_VIDEO = catalog.get("mulerouter/kling-v3-omni/reference-video-to-video")
MR_EDIT = catalog.get("mulerouter/kling-v3-omni/video-edit")
VIDEO = "https://example.com/in.mp4"


def test_default_table_holds_the_reference_rates():
    table = default_table()
    for model in ("kling-v3", "kling-v3-omni"):
        assert table[RateKey("apimart", model, "std", False, False)].usd_per_s == 0.0672
        assert table[RateKey("apimart", model, "pro", False, False)].usd_per_s == 0.0896
        assert table[RateKey("apimart", model, "pro", True, False)].usd_per_s == 0.112
        assert table[RateKey("apimart", model, "4k", False, False)].usd_per_s == 0.42856
    assert "guess" in table[RateKey("apimart", "kling-v3", "std", True, False)].note
    assert table[RateKey("mulerouter", "kling-v3", "pro", True, False)].usd_per_s == 0.150
    assert table[RateKey("mulerouter", "kling-v3-omni", "std", True, False)].usd_per_s == 0.100
    assert table[RateKey("mulerouter", "kling-v3-omni", "pro", False, True)].usd_per_s == 0.168
    assert all("estimate" in r.note or "guess" in r.note for r in table.values())


def test_rows_roundtrip_and_edits():
    table = default_table()
    rows = table_to_rows(table)
    assert set(rows[0]) == set(ROW_FIELDS) and len(rows) == len(table)
    assert rows_to_table(rows) == table
    rows[0]["usd_per_s"] = "0.5"  # a data editor may hand strings back
    rows.append({"router": "apimart", "model": "kling-v3", "mode": "std", "audio": "true",
                 "video_input": False, "usd_per_s": 0.09})
    rows.append({"router": "", "model": "x", "mode": "std", "usd_per_s": 1})  # incomplete: skipped
    rows.append({"router": "apimart", "model": "x", "mode": "std", "usd_per_s": "n/a"})  # skipped
    rows.append({"router": "apimart", "model": "x", "mode": "std", "usd_per_s": -1})  # skipped
    edited = rows_to_table(rows)
    first = rows[0]
    key = RateKey(first["router"], first["model"], first["mode"], first["audio"], first["video_input"])
    assert edited[key].usd_per_s == 0.5
    assert edited[RateKey("apimart", "kling-v3", "std", True, False)].usd_per_s == 0.09
    assert len(edited) == len(table)


def test_apimart_pro_with_audio():
    est = estimate(AM_OMNI, {"prompt": "x", "mode": "pro", "duration": 10, "audio": True})
    assert est.seconds == 10 and est.rate == 0.112
    assert est.total_usd == pytest.approx(1.12)
    assert "APIMart Kling v3 Omni Pro with sound" in est.basis
    assert est.label().startswith("≈ $1.12")


def test_schema_defaults_fill_missing_mode_and_duration():
    est = estimate(AM_V3, {"prompt": "x"})
    assert est.seconds == config.DURATION_DEFAULT_S
    assert est.rate == 0.0672  # APIMart default mode is std
    assert any("Mode not set" in a for a in est.assumptions)


def test_mulerouter_sound_on_is_audio():
    est = estimate(MR_V3, {"prompt": "x", "mode": "pro", "duration": 5, "sound": "on"})
    assert est.rate == 0.150 and est.total_usd == pytest.approx(0.75)
    off = estimate(MR_V3, {"prompt": "x", "mode": "pro", "duration": 5, "sound": "off"})
    assert off.rate == 0.100
    assert any("MuleRouter publishes no prices" in a for a in off.assumptions)


def test_video_input_uses_the_surcharge_and_drops_audio():
    est = estimate(MR_REF_VIDEO, {"prompt": "x", "video": VIDEO, "mode": "pro", "duration": 5})
    assert est.rate == 0.168 and "video input" in est.basis
    omni = estimate(
        AM_OMNI,
        {"prompt": "x", "mode": "pro", "duration": 5, "audio": True,
         "video_list": [{"video_url": VIDEO, "refer_type": "feature"}]},
    )
    assert omni.rate == 0.0896
    assert any("audio is not charged" in a for a in omni.assumptions)


def test_base_edit_is_billed_on_the_unknown_input_length():
    edit = estimate(MR_EDIT, {"prompt": "make it snow", "video": VIDEO, "mode": "std"})
    assert edit.seconds == config.PRICE_DEFAULT_SECONDS
    assert any("input video's length" in a for a in edit.assumptions)
    given = estimate(MR_EDIT, {"prompt": "x", "video": VIDEO, "mode": "std", "duration": 8})
    assert given.seconds == 8
    base = estimate(MR_V2V, {"prompt": "x", "video_list": [{"video_url": VIDEO}], "mode": "std"})
    assert any("input video's length" in a for a in base.assumptions)
    feature = estimate(
        MR_V2V, {"prompt": "x", "video_list": [{"video_url": VIDEO, "refer_type": "feature"}], "duration": 7}
    )
    assert feature.seconds == 7 and not any("input video's length" in a for a in feature.assumptions)


def test_unknown_rate_gives_no_total_and_says_so():
    est = estimate(MR_OMNI_T2V, {"prompt": "x", "mode": "pro", "duration": 5}, table={})
    assert est.total_usd is None and est.rate is None
    assert est.label() == "no estimate"
    assert any("No rate is known" in a for a in est.assumptions)


def test_falls_back_to_the_rate_without_audio():
    table = {RateKey("mulerouter", "kling-v3-omni", "pro", False, False): default_table()[
        RateKey("mulerouter", "kling-v3-omni", "pro", False, False)]}
    est = estimate(MR_OMNI_T2V, {"prompt": "x", "mode": "pro", "duration": 5, "sound": "on"}, table)
    assert est.rate == 0.100 and any("No audio rate" in a for a in est.assumptions)


def _job(i, *, estimated=None, reported=None, task=True, state=JobState.QUEUED):
    job = new_job(endpoint_id="apimart/kling-v3-omni", router="apimart", body={"prompt": "x"}, at=float(i),
                  estimated_cost=estimated)
    job = transition(job, state, float(i) + 1)
    ref = TaskRef(router="apimart", path="/v1/videos/generations", task_id=f"t{i}") if task else None
    return job.model_copy(update={"task": ref, "reported_cost": reported})


def test_session_spend_prefers_reported_charges():
    jobs = [
        _job(1, estimated=0.5, reported=0.45),
        _job(2, estimated=0.3),
        _job(3, estimated=1.0, task=False, state=JobState.FAILED),  # refused: nothing charged
        _job(4, estimated=0.2, task=False, state=JobState.SUBMISSION_UNKNOWN),  # may have been charged
        _job(5, estimated=0.7).model_copy(update={"demo": True}),  # the emulator charges nothing
        _job(6, estimated=0.1, task=False, state=JobState.WAITING),  # recorded, on its way: counts at once
        _job(7, estimated=0.9, task=False, state=JobState.WAITING).model_copy(
            update={"state": JobState.CANCELLED}),  # stopped before it was sent
    ]
    spend = session_spend(jobs)
    assert spend.jobs == 4 and spend.reported_jobs == 1
    assert spend.estimated_usd == pytest.approx(1.1)
    assert spend.reported_usd == pytest.approx(0.45)
    assert spend.total_usd == pytest.approx(1.05)
    assert session_spend([]).total_usd == 0
