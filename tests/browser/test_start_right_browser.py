"""Issue 16 in a real Chromium: words typed and then a pause, with no click elsewhere, survive a reload (the
text area is committed at each pause in typing: ui/typing_pause.py); in Settings, a key pasted, Enter, then a
click on "Use this key" keeps the key (the box empties at Enter; the empty submit never clears it)."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

LONG = 30_000
KEY = "sk-BROWSER-START-RIGHT-7a6b5c4d"


def _settle(page: Page) -> None:
    page.wait_for_timeout(400)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=LONG)


def test_words_typed_then_a_pause_survive_a_reload(browser: Browser, app_url: str, app_data_dir):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(app_url)
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    expect(box).to_be_visible(timeout=LONG)
    _settle(page)
    box.click()
    text = "A paper lantern drifts over a night market, typed and never left"
    page.keyboard.type(text, delay=15)
    page.wait_for_timeout(700 + 1500)  # the pause commits it, the run that follows saves the draft
    expect(box).to_be_focused()  # the box kept the focus (and the words) while it was committed
    page.keyboard.type(" — more", delay=15)
    page.wait_for_timeout(700 + 1500)
    expect(box).to_have_value(text + " — more")
    page.reload()
    reloaded = page.get_by_role("textbox", name="Prompt", exact=True)
    expect(reloaded).to_have_value(text + " — more", timeout=LONG)
    page.screenshot(path=str(app_data_dir / "start-right-typed-pause-reload.png"), full_page=True)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    context.close()


def test_key_enter_then_use_this_key_keeps_the_key(browser: Browser, app_url: str, app_data_dir):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(app_url.rstrip("/") + "/settings")
    expect(page.get_by_role("heading", name="Connect your account")).to_be_visible(timeout=LONG)
    _settle(page)
    card = page.locator(".st-key-settings-connect-mulerouter")
    box = card.get_by_label("MuleRouter API key")
    box.fill(KEY)
    box.press("Enter")
    expect(card.get_by_text("Key set (from session)")).to_be_visible(timeout=LONG)
    _settle(page)
    card.get_by_role("button", name="Use this key").click()
    _settle(page)
    expect(card.get_by_text("stays in use")).to_be_visible(timeout=LONG)
    expect(card.get_by_text("Key set (from session)")).to_be_visible()
    expect(page.get_by_text("key cleared")).to_have_count(0)
    expect(page.get_by_test_id("stSidebar").get_by_text("MuleRouter key set (session)")).to_be_visible()
    assert KEY not in page.content()
    page.screenshot(path=str(app_data_dir / "start-right-key-enter-click.png"), full_page=True)
    context.close()


def test_starters_show_to_a_new_browser_on_a_server_with_jobs(browser: Browser, app_url: str, app_data_dir):
    first = browser.new_context(viewport={"width": 1280, "height": 900})
    page = first.new_page()
    page.goto(app_url)
    box = page.get_by_role("textbox", name="Prompt", exact=True)
    expect(box).to_be_visible(timeout=LONG)
    _settle(page)
    box.fill("A heron lifts off a misty lake at sunrise, for the welcome test")
    box.blur()
    _settle(page)
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_test_id("stToast").filter(has_text="Job started").first).to_be_visible(timeout=LONG)
    # the form is a fragment: its first job runs the whole page, and the welcome above it closes
    expect(page.get_by_role("button", name="A paper boat in the rain")).to_have_count(0, timeout=LONG)
    page.reload()
    expect(page.get_by_role("textbox", name="Prompt", exact=True)).to_be_visible(timeout=LONG)
    _settle(page)
    expect(page.get_by_role("button", name="A paper boat in the rain")).to_have_count(0)  # made a job

    newcomer = browser.new_context(viewport={"width": 390, "height": 844})  # another browser, a phone
    other = newcomer.new_page()
    other.goto(app_url)
    expect(other.get_by_role("button", name="A paper boat in the rain")).to_be_visible(timeout=LONG)
    other.screenshot(path=str(app_data_dir / "start-right-newcomer-phone.png"), full_page=True)
    newcomer.close()

    page.get_by_test_id("stSidebar").get_by_role("button", name="Getting started").click()  # reopened
    expect(page.get_by_role("button", name="A paper boat in the rain")).to_be_visible(timeout=LONG)
    page.screenshot(path=str(app_data_dir / "start-right-reopened.png"), full_page=True)
    first.close()
