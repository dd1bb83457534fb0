"""Labels from the wording itself (issue 18 item 1): short labels of wordings (the words that set them
apart), in the table, the CSV, the grid layout (so the grid MP4) and the review pack, with the pick, notes,
blind votes and comments in the pack; Save the winner names the preset after the winner's own wording."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from core.compare import comments, grid, votes
from core.compare import experiments as X
from core.compare.review_pack import index_html, write_review_pack
from core.storage import library
from core.storage.ledger import Ledger
from core.storage.media_cache import MediaCache
from tests.test_votes_ranking import ANA, BEN, _experiment

EVIL = "<b>x</b>"


def test_wording_labels_keep_the_words_that_differ() -> None:
    assert X.wording_labels(["a fox walks in snow", "a fox runs in snow"]) == ("…walks…", "…runs…")
    assert X.wording_labels(["a fox at dawn", "a fox at dusk"]) == ("…dawn", "…dusk")
    assert X.wording_labels(["calm sea", "stormy sea"]) == ("calm…", "stormy…")
    long = X.wording_labels(["x " + "very long words here " * 5, "x short"])
    assert len(long[0]) <= 36 and long[0].endswith("…") and long[1] == "…short"
    assert X.wording_labels(["same words and more", "same words  and more!"])[0] != X.wording_labels(
        ["same words and more", "same words  and more!"])[1]
    axis = X.Axis(X.AXIS_PROMPT, ("a fox walks in snow", "a fox runs in snow"))
    assert axis.value_label(1) == "…runs…" and axis.value_full(1) == "a fox runs in snow"


def test_table_csv_and_grid_labels_use_the_words(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    exp, plan, _subject = _experiment(ledger, tmp_path)
    records = ledger.experiments.experiment_cells(exp.id)
    jobs = {i: ledger.jobs.get(i) for r in records.values() for i in r.job_ids}
    rows = grid.table_rows(exp, plan, records, jobs)
    assert {r["Wording"] for r in rows} == {"…walks…", "…runs…"}
    assert {r["wording"] for r in rows} == {"A red fox walks through snow", "A red fox runs through snow"}
    text = grid.rows_csv(rows)
    assert "Wording 1" not in text and "…walks…" in text
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert parsed[0]["wording"] == "A red fox walks through snow"
    layout = grid.grid_layout(exp, 0, 1)  # the grid MP4 burns these labels in
    assert layout.row_labels == ["…walks…", "…runs…"] and layout.col_labels == ["16:9", "9:16"]


def test_the_review_pack_has_the_words_pick_notes_votes_and_comments(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    exp, plan, subject = _experiment(ledger, tmp_path)
    X.set_note(ledger, exp.id, "1.1", f"best motion {EVIL}")
    X.pick(ledger, exp.id, "1.1", X.PICK_GRID, plan)
    takes = sorted(subject.videos)
    winner = ledger.experiments.experiment_cells(exp.id)["1.1"].job_ids[0]
    q = subject.criteria[0]
    for who in (ANA, BEN):
        votes.record_ballot(ledger, subject, who, voter=who.id, shown=[winner, takes[0]], choice=winner,
                            criterion=q)
    comments.add_comment(ledger, subject, ANA, item=winner, at_s=3.2, text=f"hand distorts {EVIL}")
    records = ledger.experiments.experiment_cells(exp.id)
    jobs = {i: ledger.jobs.get(i) for r in records.values() for i in r.job_ids}
    tally = votes.votes_by_take(ledger, exp.id)
    lines = comments.lines_by_take(ledger, exp.id)
    rows = grid.table_rows(exp, plan, records, jobs, votes=tally, comments=lines)
    row = next(r for r in rows if r["job"] == winner)
    assert row["votes"] == "won 2 of 2 pairs" and "0:03.2 — Ana: hand distorts" in row["comments"]
    cells = grid.pack_cells(exp, plan, records, jobs, votes=tally, comments=lines)
    best = next(c for c in cells if c.video_name == jobs[winner].video_file)
    assert (best.row, best.col, best.pick) == ("…runs…", "9:16", "Best overall")
    tables = votes.ranking_tables(votes.rankings(ledger, subject, q, rounds=20), subject)
    page = index_html(title="Foxes", axes=[a.name() for a in exp.axes], cells=cells, made_at=1.0,
                      core_js="", rankings=tables)
    assert "…runs…" in page and "Wording 1" not in page and "Best overall" in page
    assert "best motion &lt;b&gt;x&lt;/b&gt;" in page and "hand distorts &lt;b&gt;x&lt;/b&gt;" in page
    assert "won 2 of 2 pairs" in page and "Blind votes" in page and "…runs… · 9:16" in page
    assert EVIL not in page
    out = io.BytesIO()
    write_review_pack(out, title="Foxes", axes=[a.name() for a in exp.axes], cells=cells[:1],
                      open_media=lambda name: io.BytesIO(b"\0" * 10), made_at=1.0, rankings=tables)
    assert "Blind votes" in zipfile.ZipFile(out).read("index.html").decode()


def test_save_the_winner_is_named_after_its_own_wording(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    exp, plan, _ = _experiment(ledger, tmp_path)
    cell = plan.cell("1.1")
    assert X.winner_name(exp, cell) == "A red fox runs through snow · 9:16"
    alike = X.with_axis(exp, X.Axis(X.AXIS_PROMPT, ("one two three four five six seven eight nine",
                                                    "one two three four five six seven eight ten")))
    name = X.winner_name(alike, X.expand(alike).cell("1.0"))
    assert name.startswith("one two three four five six seven eight…") and "(…ten)" in name
    lib = library.Library(database=ledger.database, media=MediaCache(tmp_path / "media"))
    version = X.save_winner(lib, exp, cell, None, ledger=ledger, who=ANA, owner=ANA.id)
    assert version.name == "A red fox runs through snow · 9:16"
