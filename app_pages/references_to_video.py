"""Create: References to video. The page body is shared by the four Create pages (ui/create.py)."""

from core.models import Mode
from ui.create import render_create_page

render_create_page(Mode.REFERENCE)
