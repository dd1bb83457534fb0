"""The studio without Streamlit, by capability (ARCHITECTURE.md; tests/test_layers.py keeps the directions).

Bottom to top: the base modules here (config, errors, models, units, secrets_file) · net (every HTTP
request) · authoring (what a request may say, checked before it is paid for) · emulator (a local router) ·
jobs (one job and the routers, without the ledger) · storage (the database, its stores, the media) ·
engine (running jobs) · team (people and budgets) · compare (experiments) · server and the CLI at the top.

May import: nothing above itself; `streamlit` never (tests/test_no_streamlit_in_core.py).
"""
