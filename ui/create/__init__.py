"""The Create pages (text, image, references, video to video): the page (page.py), the generic form
renderer (fields.py reads the schemas, form.py draws and pre-fills), its widgets (widgets, image_field,
imagefix_view, video_upload), the custom fields (binding, storyboard, camera, brush) and the take in place
(take: the card of the job just sent, the strip of recent takes, the sticky Generate bar, Ctrl/Cmd+Enter).

May import: core, streamlit, the shared ui modules, ui.results (the Library panels) and ui.compare (the
"Compare variants" button). Nothing outside app_pages imports this package.
"""
