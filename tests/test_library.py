"""Prompt library: versions, takes, media by content hash, diffs, export/import round trip."""

from __future__ import annotations

import itertools
import json

import pytest

from core import config
from core.storage import db, library
from core.storage.library import Library, body_hash, export_presets, import_presets, param_diff, word_diff
from core.storage.media_store import S3Media
from tests.images import png_b64

MR_I2V = "mulerouter/kling-v3-omni/image-to-video"
MR_T2V = "mulerouter/kling-v3/text-to-video"
AM = "apimart/kling-v3-omni"


def counter_clock():
    ticks = itertools.count(1000)
    return lambda: float(next(ticks))


STORES = ("sqlite", "postgres", "postgres+bucket")


@pytest.fixture(params=STORES)
def lib(request, data_dir) -> Library:
    """The library on each backend: the ledger's SQLite file (local media), PostgreSQL (local media), and
    PostgreSQL with its media in a bucket (moto)."""
    if request.param == "sqlite":
        return Library(data_dir, clock=counter_clock())
    database = db.open_database(url=request.getfixturevalue("pg_url"))
    media = request.getfixturevalue("s3_media") if request.param.endswith("bucket") else None
    return Library(data_dir, database=database, media=media, clock=counter_clock())


def media_names(lib: Library) -> list[str]:
    """The names in the library's media store (the local folder or the bucket)."""
    if isinstance(lib.media, S3Media):
        found = lib.media._client.list_objects_v2(Bucket=lib.media.bucket, Prefix=lib.media.prefix + "/")
        return sorted(o["Key"].rsplit("/", 1)[-1] for o in found.get("Contents", []))
    return sorted(p.name for p in lib.media.dir.iterdir())


def t2v(prompt: str, **extra) -> dict:
    return {"prompt": prompt, "duration": 5, "mode": "std", **extra}


def test_versions_and_unchanged_saves(lib, data_dir):
    v1 = lib.save("Lighthouse", MR_T2V, t2v("a lighthouse at dusk"))
    assert v1.number == 1 and (data_dir / config.LEDGER_FILENAME).is_file() != lib.database.is_postgres
    same = lib.save("Lighthouse", MR_T2V, {"mode": "std", "duration": 5, "prompt": "a lighthouse at dusk"})
    assert same.number == 1  # identical body (key order aside): no new version
    v2 = lib.save("  Lighthouse ", MR_T2V, t2v("a lighthouse at dawn"))
    assert v2.number == 2
    assert [v.number for v in lib.versions("Lighthouse")] == [1, 2]
    assert lib.get_version("Lighthouse", 1).body["prompt"] == "a lighthouse at dusk"
    assert lib.get_version("Lighthouse", 9) is None
    back_to_v1 = lib.save("Lighthouse", MR_T2V, t2v("a lighthouse at dusk"))
    assert back_to_v1.number == 3  # same as v1 but not as the latest: a new version
    lib.save("Other", AM, {"model": "kling-v3-omni", "prompt": "x"})
    summaries = lib.list_prompts()
    assert [s.name for s in summaries] == ["Other", "Lighthouse"]
    assert summaries[1].latest == 3 and summaries[1].endpoint_id == MR_T2V


def test_takes_hang_off_versions(lib):
    lib.save("P", MR_T2V, t2v("one"))
    lib.save("P", MR_T2V, t2v("two"))
    lib.link_take("P", 1, "job-a")
    lib.link_take("P", 2, "job-b")
    lib.link_take("P", 2, "job-c")
    lib.link_take("P", 2, "job-b")  # twice is harmless
    assert lib.takes("P", 1) == ["job-a"]
    assert lib.takes("P", 2) == ["job-b", "job-c"]
    assert lib.list_prompts()[0].takes == 3
    with pytest.raises(ValueError, match="no version 7"):
        lib.link_take("P", 7, "job-x")
    assert lib.delete("P", 1) and lib.takes("P", 1) == []
    assert [v.number for v in lib.versions("P")] == [2]
    assert lib.delete("P") and lib.versions("P") == [] and not lib.delete("P")


def test_bad_names_and_endpoints(lib):
    with pytest.raises(ValueError, match="name"):
        lib.save("   ", MR_T2V, t2v("x"))
    with pytest.raises(ValueError, match="characters"):
        lib.save("n" * (config.PRESET_NAME_MAX_CHARS + 1), MR_T2V, t2v("x"))
    with pytest.raises(KeyError):
        lib.save("x", "nowhere/endpoint", {})


def test_images_stored_by_content_hash(lib, data_dir):
    image = png_b64()
    body = {"prompt": "move", "first_frame": image, "aspect_ratio": "16:9", "duration": 5}
    v = lib.save("Frame", MR_I2V, body)
    assert v.body["first_frame"].startswith("media:sha256-")
    if not lib.database.is_postgres:
        assert image not in (data_dir / config.LEDGER_FILENAME).read_bytes().decode("latin-1")
    assert media_names(lib) == [v.body["first_frame"].removeprefix("media:")]
    assert lib.body(v) == body
    assert lib.save("Frame", MR_I2V, dict(body)).number == 1


def test_preset_saved_versioned_diffed_exported_imported_reloaded(lib, tmp_path):
    image = png_b64()
    first = {
        "prompt": "a red kite over the sea <<<image_1>>>",
        "images": [image],
        "first_frame": image,
        "duration": 5,
        "aspect_ratio": "16:9",
        "mode": "pro",
        "sound": "off",
    }
    second = {**first, "prompt": "a blue kite over the calm sea <<<image_1>>>", "duration": 8, "sound": "on"}
    lib.save("Kite", MR_I2V, first)
    v2 = lib.save("Kite", MR_I2V, second)
    a, b = lib.versions("Kite")
    diff = word_diff(a.body["prompt"], b.body["prompt"])
    assert ("delete", "red") in diff and ("insert", "blue") in diff and ("insert", "calm") in diff
    assert param_diff(a.body, b.body) == [
        ("prompt", first["prompt"], second["prompt"]),
        ("duration", 5, 8),
        ("sound", "off", "on"),
    ]
    text = lib.export()
    assert json.loads(text)["format"] == config.PRESETS_FORMAT
    other = Library(tmp_path / "elsewhere", clock=counter_clock())
    saved, refused = other.import_text(text)
    assert refused == [] and [v.number for v in saved] == [1, 2]
    reloaded = other.get_version("Kite", v2.number)
    assert other.body(reloaded) == second
    assert other.body(other.get_version("Kite", 1)) == first
    assert body_hash(MR_I2V, reloaded.body) == v2.body_hash


def test_word_diff_and_param_diff_edges():
    assert word_diff("", "") == []
    assert word_diff("same words", "same words") == [("equal", "same words")]
    assert word_diff("a b", "") == [("delete", "a b")]
    a = {"multi_prompt": [{"prompt": "x", "duration": 2}], "sound": "on"}
    b = {"multi_prompt": [{"prompt": "x", "duration": 3}, {"prompt": "y", "duration": 1}]}
    assert param_diff(a, b) == [
        ("multi_prompt.0.duration", 2, 3),
        ("sound", "on", None),
        ("multi_prompt.1.prompt", None, "y"),
        ("multi_prompt.1.duration", None, 1),
    ]
    assert param_diff(a, a) == []


def test_import_reports_bad_entries_without_crashing():
    good = {"name": "ok", "endpoint_id": MR_T2V, "body": t2v("fine")}
    text = export_presets(
        [
            good,
            {"name": "bad body", "endpoint_id": MR_T2V, "body": {"prompt": "x", "duration": 99}},
            {"name": "where", "endpoint_id": "nowhere", "body": {}},
            {"name": "", "endpoint_id": MR_T2V, "body": t2v("no name")},
        ]
    )
    data = json.loads(text)
    data["presets"].append("junk")
    good_entries, refused = import_presets(json.dumps(data))
    assert [e.name for e in good_entries] == ["ok"] and good_entries[0].body == good["body"]
    assert [e.ok for e in refused] == [False] * 4
    assert any("duration" in p for p in refused[0].problems)
    assert "unknown endpoint" in refused[1].problems[0]
    assert str(refused[1]).startswith("where: ")
    for bad in (
        "not json",
        json.dumps({"format": "other@1", "presets": []}),
        json.dumps([1, 2]),
        json.dumps({"format": config.PRESETS_FORMAT}),
    ):
        with pytest.raises(ValueError):
            import_presets(bad)


# --- hostile imports ----------------------------------------------------------------------------------


def _snapshot(lib: Library) -> tuple:
    """Everything a user has saved: prompts, every version's body, the media files."""
    names = [p.name for p in lib.list_prompts()]
    versions = [(v.name, v.number, v.body_hash) for n in names for v in lib.versions(n)]
    return names, versions, media_names(lib)


def _presets_file(presets: list) -> str:
    return json.dumps({"format": config.PRESETS_FORMAT, "presets": presets})


HOSTILE = {
    "deep": ("[" * 100_000 + "]" * 100_000, f"more than {config.PRESETS_IMPORT_MAX_DEPTH} levels deep"),
    "deep but parseable": (
        _presets_file([{"name": "n", "endpoint_id": MR_T2V, "body": json.loads("[" * 200 + "]" * 200)}]),
        f"more than {config.PRESETS_IMPORT_MAX_DEPTH} levels deep",
    ),
    "many": (_presets_file([{}] * (config.PRESETS_IMPORT_MAX_ENTRIES * 50 + 1)),
             "holds 50,001 presets; at most 1,000 can be imported at once"),
    "big": ('{"format": "x", "pad": "' + "x" * (6 * 1024 * 1024) + '"}',
            "is 6.0 MB; a presets file can be at most 5.0 MB"),
    "not json": ("this is not json {", "is not valid JSON"),
    "huge integer": ("1" * 5000, "is not valid JSON"),
    "wrong marker": (json.dumps({"format": "other@1", "presets": []}), "is not a presets file"),
    "not utf-8": (b"\xff\xfe\x00{", "is not text (UTF-8)"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_imports_are_refused_plainly_and_change_nothing(lib, case):
    lib.save("Keep me", MR_I2V, {"prompt": "a kept prompt", "duration": 5, "first_frame": png_b64()})
    before = _snapshot(lib)
    data, message = HOSTILE[case]
    with pytest.raises(ValueError) as refused:
        lib.import_text(data)
    assert message in str(refused.value), str(refused.value)
    assert "Traceback" not in str(refused.value) and "Recursion" not in str(refused.value)
    assert _snapshot(lib) == before
    assert lib.body(lib.latest("Keep me"))["prompt"] == "a kept prompt"


def test_the_caps_let_a_full_export_through(lib):
    n = config.PRESETS_IMPORT_MAX_ENTRIES
    text = export_presets({"name": f"p{i}", "endpoint_id": MR_T2V, "body": t2v(f"prompt {i}")}
                          for i in range(n))
    assert len(text.encode()) < config.PRESETS_IMPORT_MAX_BYTES
    saved, refused = lib.import_text(text.encode())  # bytes, as the uploader gives them
    assert len(saved) == n and not refused
    assert lib.count_prompts() == n and len(lib.list_prompts(limit=config.LIBRARY_PAGE_SIZE)) == 20


def test_an_import_adds_versions_and_never_replaces(lib):
    lib.save("Fox", MR_T2V, t2v("the original fox"))
    saved, refused = lib.import_text(_presets_file([{"name": "Fox", "endpoint_id": MR_T2V,
                                                     "body": t2v("an imported fox")}]))
    assert [v.number for v in saved] == [2] and not refused
    assert [lib.body(v)["prompt"] for v in lib.versions("Fox")] == ["the original fox", "an imported fox"]


def test_json_depth_is_iterative():
    from core.storage.library import json_depth

    assert json_depth(5) == 0 and json_depth([]) == 1 and json_depth({"a": [{"b": []}]}) == 4
    deep: list = []
    for _ in range(50_000):
        deep = [deep]
    assert json_depth(deep) == 50_001
    assert json_depth(deep, stop_at=32) == 33


def test_prompts_are_listed_a_page_at_a_time_and_searched(lib):
    for i in range(7):
        lib.save(f"Name {i}", MR_T2V, t2v(f"a {'Ärger' if i == 3 else 'calm'} sea {i}"))
    lib.save("Shots", MR_T2V, {"duration": 5, "multi_shot": True, "shot_type": "customize",
                               "multi_prompt": [{"prompt": "a LIGHTHOUSE", "duration": 5}]})
    assert lib.count_prompts() == 8
    first, second = lib.list_prompts(limit=5), lib.list_prompts(limit=5, offset=5)
    assert len(first) == 5 and len(second) == 3
    assert [p.name for p in first + second] == [p.name for p in lib.list_prompts()]
    assert [p.name for p in lib.list_prompts(text="ärger")] == ["Name 3"]
    assert lib.count_prompts(text="ÄRGER") == 1
    assert [p.name for p in lib.list_prompts(text="lighthouse")] == ["Shots"]
    assert lib.count_prompts(text="name") == 7 and lib.count_prompts(text="duration") == 0


def test_diff_sides_gives_each_prompt_back_with_its_changes():
    left, right = library.diff_sides("a red flower in a field", "a red flower at sunset in a field")
    assert left == [("a red flower in a field", False)]
    assert right == [("a red flower", False), ("at sunset", True), ("in a field", False)]
    left, right = library.diff_sides("fox trots", "fox leaps")
    assert left == [("fox", False), ("trots", True)] and right == [("fox", False), ("leaps", True)]
    assert library.diff_sides("", "") == ([], [])


def test_param_labels_come_from_the_schema_titles():
    schema = library._schema_of("apimart/kling-v3-omni")
    assert library.param_label(schema, "duration") == "Duration (s)"
    assert library.param_label(schema, "video_list.0.video_url") == "Source video #1 › Video link"
    assert library.param_label(None, "some_field.2") == "Some field #3"
    rows = library.labelled_param_diff("apimart/kling-v3-omni", {"prompt": "a", "mode": "std"},
                                       "apimart/kling-v3-omni", {"prompt": "b", "mode": "pro", "audio": True})
    assert rows == [("Quality", "std", "pro"), ("Sound", None, True)]
