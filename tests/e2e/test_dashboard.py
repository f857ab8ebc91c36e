"""The critical user flow in a real browser: the dashboard the gateway serves, driven by headless
Chromium (Debian's package, through Playwright; no browser download) against the running platform
and its simulated worker. Screenshots of the main screens land in test-artifacts/screenshots/."""

from __future__ import annotations

import uuid
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import async_playwright, expect

from harness.infra import REPO
from harness.sink import WebhookSink

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"]
SHOTS = REPO / "test-artifacts" / "screenshots"
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
LIVE = 20_000  # ms to wait for something pushed over Socket.IO


@pytest.fixture
async def page():
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: scripts/bootstrap.sh installs it")
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport=DESKTOP)
        page = await context.new_page()
        # Console errors (a Content-Security-Policy violation is one) and uncaught exceptions; an API
        # answer of 4xx is logged by the browser too, and is no problem of the page.
        page.problems = []
        page.on("console", lambda m: m.type == "error" and not m.text.startswith("Failed to load resource")
                and page.problems.append(m.text))
        page.on("pageerror", lambda e: page.problems.append(str(e)))
        try:
            yield page
        finally:
            await browser.close()


async def shoot(page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_a_new_user_connects_a_session_and_sends_a_message_in_the_browser(platform, page):
    gateway, worker_url = platform.url("gateway"), platform.worker_url(next(iter(platform.workers)))
    email = f"dash-{uuid.uuid4().hex[:10]}@example.com"

    # Register (the home page redirects to the dashboard, which asks to log in first).
    await page.goto(gateway + "/")
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    await expect(page.get_by_role("button", name="Log out")).to_be_hidden()
    await shoot(page, "01-login-desktop")
    await page.get_by_role("link", name="Create an account").click()
    await page.get_by_label("Name (optional)").fill("Dana")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill("correct horse battery")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("heading", name="Instances")).to_be_visible()
    await expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=LIVE)

    # Create an instance with the keyboard: the form takes the focus, Enter submits it.
    await page.get_by_role("button", name="Create instance").click()
    await expect(page.get_by_label("Name", exact=True)).to_be_focused()
    await page.keyboard.type("Support line")
    await page.get_by_label("Description").fill("Customer questions")
    await page.get_by_label("Name", exact=True).press("Enter")
    key = page.get_by_label("API key", exact=True)
    await expect(key).to_contain_text("wagw_")
    card = page.get_by_role("link", name="Support line DISCONNECTED")
    await expect(card).to_contain_text("DISCONNECTED")
    await shoot(page, "02-instances-desktop")

    # Open it: DISCONNECTED; connect: a QR code appears, pushed over Socket.IO.
    await card.click()
    await expect(page.get_by_role("heading", name="Support line", level=1)).to_be_visible()
    status = page.locator("#session-status")
    await expect(status).to_have_text("DISCONNECTED")
    await page.evaluate("window.notReloaded = true")
    await page.get_by_role("button", name="Connect", exact=True).click()
    qr = page.get_by_role("img", name="QR code to scan with WhatsApp")
    await expect(qr).to_be_visible(timeout=LIVE)
    await expect(status).to_have_text("QR REQUIRED", timeout=LIVE)
    await shoot(page, "03-qr-desktop")

    # The phone scans it: the page turns CONNECTED by itself, without a reload.
    session_id = page.url.rsplit("/", 1)[1]
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{worker_url}/sessions/{session_id}/scan") as scanned:
            assert scanned.status == 200, await scanned.text()
    await expect(status).to_have_text("CONNECTED", timeout=LIVE)
    await expect(qr).to_have_count(0)
    assert await page.evaluate("window.notReloaded") is True

    # A webhook endpoint for the session, then a test message whose status moves to "read" live.
    sink = WebhookSink()
    await sink.start()
    try:
        await page.get_by_label("Endpoint URL").fill(sink.url)
        await page.get_by_role("button", name="Add endpoint").click()
        await expect(page.get_by_label("Signing secret", exact=True)).to_contain_text("whsec_")
        await page.get_by_label("To (phone number)").fill("+628123456789")
        await expect(page.get_by_label("API key of this instance")).not_to_have_value("")
        await page.get_by_role("button", name="Send test message").click()
        message = page.locator("#messages li.message").first
        await expect(message.get_by_label("Message status: read")).to_be_visible(timeout=LIVE)
        await expect(message.locator(".steps li.done")).to_have_count(4)
        await sink.wait_for(lambda r: r.payload.get("type") == "message.read")

        # An image by its address, then one the contact sends: both described in the list, live.
        await page.get_by_label("Image URL (optional)").fill("https://example.com/receipt.jpg")
        await page.get_by_role("button", name="Send test message").click()
        sent_image = page.locator("#messages li.message").first
        await expect(sent_image.locator(".message-media")).to_contain_text("image · https://example.com/receipt.jpg")
        await expect(sent_image.get_by_label("Message status: read")).to_be_visible(timeout=LIVE)
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{worker_url}/sessions/{session_id}/inbound", json={
                    "type": "image", "text": "my receipt", "media": {
                        "mimetype": "image/jpeg", "size": 48213, "sha256": "9f" * 32,
                        "filename": "receipt.jpg"}}) as sent:
                assert sent.status == 202, await sent.text()
        received = page.locator("#messages li.message").first
        await expect(received.locator(".message-media")).to_have_text("image · image/jpeg · 47 KB · receipt.jpg",
                                                                      timeout=LIVE)
        await expect(received).to_contain_text("my receipt")
        deliveries = page.get_by_role("button", name="Deliveries")
        await deliveries.click()
        await expect(page.locator("#webhooks table")).to_contain_text("message.read")
        await page.get_by_role("button", name="Send test", exact=True).click()
        await expect(page.locator("#webhooks table")).to_contain_text("(test)", timeout=LIVE)
    finally:
        await sink.stop()
    await shoot(page, "04-connected-desktop")
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(SHOTS / "readme.png"))  # the first screenful, for docs/dashboard.png

    # Phone-sized: everything readable, nothing wider than the screen.
    await page.set_viewport_size(PHONE)
    await shoot(page, "05-session-phone")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await page.get_by_role("link", name="← All instances").click()
    await expect(page.get_by_role("link", name="Support line CONNECTED", exact=True)).to_be_visible()
    await shoot(page, "06-instances-phone")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # Log out: back to the log-in form.
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    await expect(page.get_by_role("button", name="Log out")).to_be_hidden()
    await page.reload()  # the token went with the log-out
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert page.problems == [], page.problems


async def test_a_session_is_disconnected_and_deleted_from_its_page(platform, page):
    gateway, worker_url = platform.url("gateway"), platform.worker_url(next(iter(platform.workers)))
    page.on("dialog", lambda dialog: dialog.accept())  # "Delete: are you sure?"
    await page.goto(gateway + "/dashboard/#/register")
    await page.get_by_label("Email").fill(f"dash-{uuid.uuid4().hex[:10]}@example.com")
    await page.get_by_label("Password").fill("correct horse battery")
    await page.get_by_role("button", name="Create account").click()
    await page.get_by_role("button", name="Create instance").click()
    await page.get_by_label("Name", exact=True).fill("Short-lived")
    await page.get_by_role("button", name="Create", exact=True).click()
    await page.get_by_role("link", name="Short-lived").click()
    status = page.locator("#session-status")
    await page.get_by_role("button", name="Connect", exact=True).click()
    await expect(page.get_by_role("img", name="QR code to scan with WhatsApp")).to_be_visible(timeout=LIVE)
    session_id = page.url.rsplit("/", 1)[1]
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{worker_url}/sessions/{session_id}/scan") as scanned:
            assert scanned.status == 200, await scanned.text()
    await expect(status).to_have_text("CONNECTED", timeout=LIVE)

    key = page.get_by_role("region", name="API key", exact=True).locator(".secret code")
    first_key = await key.text_content()
    await page.get_by_role("button", name="Rotate key").click()  # confirmed by the dialog handler
    await expect(key).not_to_have_text(first_key)
    await expect(key).to_contain_text("wagw_")

    await page.get_by_role("button", name="Disconnect").click()
    await expect(status).to_have_text("DISCONNECTED", timeout=LIVE)
    await expect(page.get_by_role("button", name="Connect", exact=True)).to_be_enabled()
    await page.get_by_role("button", name="Delete").click()
    await expect(page.get_by_role("heading", name="Instances")).to_be_visible()
    await expect(page.get_by_role("link", name="Short-lived")).to_have_count(0)
    assert page.problems == [], page.problems
