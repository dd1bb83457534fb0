"""The Compare page: prompt experiments as a grid of videos (compare_view.py) and the synced-grid component
(synced_grid.py with its plain-JS frontend in synced_grid_frontend/, package data; core/compare/review_pack.py
reads synced_grid_core.js by path).

May import: core, streamlit, the shared ui modules and ui.results (the job player, the library). Never
ui.create.
"""
