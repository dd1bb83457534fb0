"""Authoring: what a request may say, checked before anything is paid for. Pure, no I/O but image bytes.

Owns: `catalog` (the endpoints: id, router, model, path, schema, price rule, modes), `schemas/` (Pydantic
request bodies exactly as each router receives them), `rules` (every cross-field rule with its level and
source, and `RuledModel`, the base of every body), `check` (problems and cautions of a body: the CLI, the
pages and the emulator run the same check), `tokens` (@image/@element/<<<…>>> references), `storyboard`
(shots), `camera` (camera moves and motion brush), `pricing` (rates and estimates), `templates` (the
starter prompts), `media` (image rules, Base64) and `imagefix` (fixing an image that breaks them; URL probes);
the prompt help: `vocabulary` (words Kling understands, one data file `data/vocabulary.toml` with its
sources), `structure` (the parts of a prompt read from word lists; "Add"/"Insert") and `lint` (the prompt
linter: cautions with reason and source).

May import: the base modules and core.net (an image URL is probed through the bounded fetch). Never the
ledger, the engine or anything with state: every page, the CLI and the emulator rely on it being pure.
"""
