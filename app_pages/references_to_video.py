"""Create: References to video. The page body is shared by the four Create pages (ui/create/page.py)."""

from core.models import Mode
from ui.create.page import render_create_page

render_create_page(Mode.REFERENCE)
