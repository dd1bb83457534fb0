"""The Streamlit side of the studio. The modules at this level are shared by every page family: session
(the pages' named functions onto core: state, jobs, budget, experiments), frame (the frame round every
page), phone, welcome, media_links, nav (page paths and moves between pages) and text (Markdown helpers).

Page families, one package each: ui.create (the four Create pages and their form), ui.results (Jobs,
Gallery, Library), ui.compare (Compare and its synced grid). Families go one way: create may use compare
and results, compare may use results, results uses neither.

May import: core, streamlit. The shared modules never import a page family.
"""
