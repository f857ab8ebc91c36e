"""The critical user flow in a real browser: the dashboard the gateway serves, driven by headless
Chromium (Debian's package, through Playwright; no browser download) against the running platform
and its simulated worker: connecting, sending (text, an image by address or from a file), received
files, send pacing, the number check and groups (and what a person reads when the worker cannot
answer), webhooks. Screenshots of the main screens land in test-artifacts/screenshots/."""

from __future__ import annotations

import uuid
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import async_playwright, expect

from harness.gateway_world import gateway_replica
from harness.infra import REPO
from harness.sink import WebhookSink

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"]
SHOTS = REPO / "test-artifacts" / "screenshots"
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
LIVE = 20_000  # ms to wait for something pushed over Socket.IO
PASSWORD = "correct horse battery"
# A 1×1 PNG: a real picture, for the upload and for a file the contact sends.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


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


async def connected_instance(page, gateway: str, worker_url: str, name: str) -> tuple[str, str]:
    """Register a new user, create an instance and connect it (the phone scans the QR): (email, session id)."""
    email = f"dash-{uuid.uuid4().hex[:10]}@example.com"
    await page.goto(gateway + "/dashboard/#/register")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await page.get_by_role("button", name="Create instance").click()
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_role("button", name="Create", exact=True).click()
    await page.get_by_role("link", name=name).click()
    await page.get_by_role("button", name="Connect", exact=True).click()
    await expect(page.get_by_role("img", name="QR code to scan with WhatsApp")).to_be_visible(timeout=LIVE)
    session_id = page.url.rsplit("/", 1)[1]
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{worker_url}/sessions/{session_id}/scan") as scanned:
            assert scanned.status == 200, await scanned.text()
    await expect(page.locator("#session-status")).to_have_text("CONNECTED", timeout=LIVE)
    return email, session_id


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
    await page.get_by_label("Password").fill(PASSWORD)
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
    await connected_instance(page, gateway, worker_url, "Short-lived")
    status = page.locator("#session-status")

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


async def test_pacing_is_set_followed_live_and_removed_from_the_session_page(platform, page):
    gateway, worker_url = platform.url("gateway"), platform.worker_url(next(iter(platform.workers)))
    _, session_id = await connected_instance(page, gateway, worker_url, "Paced line")
    now = page.locator("#pacing-now")
    await expect(now).to_contain_text("Sends are not paced")
    await expect(page.get_by_role("button", name="Remove pacing")).to_be_disabled()

    # A policy that paces nothing is refused by the gateway, and the reason is shown by the form.
    await page.get_by_label("Minimum gap between sends (seconds)").fill("0")
    await page.get_by_role("button", name="Save pacing").click()
    await expect(page.get_by_role("form", name="Send pacing policy").locator(".form-error")).to_contain_text(
        "paces nothing")

    await page.get_by_label("Minimum gap between sends (seconds)").fill("1")
    await page.get_by_label("Random extra wait, up to (seconds)").fill("0.5")
    await page.get_by_label("Sends allowed on day 1").fill("5")
    await page.get_by_label("More sends each following day").fill("5")
    await page.get_by_label("Warm-up days").fill("3")
    await page.get_by_role("button", name="Save pacing").click()
    await expect(page.locator("#pacing-gap")).to_have_text("1 s + up to 0.5 s")
    await expect(page.locator("#pacing-today")).to_have_text("0 (limit 5)")

    # A paced send counts in today's usage, which follows the message's status events.
    await page.get_by_label("To (phone number)").fill("+628123456789")
    await page.get_by_role("button", name="Send test message").click()
    await expect(page.locator("#messages li.message").first.get_by_label("Message status: read")).to_be_visible(
        timeout=LIVE)
    await expect(page.locator("#pacing-today")).to_have_text("1 (limit 5)", timeout=LIVE)

    # Changed through the API (another client): the page follows `session.pacing_changed` by itself.
    token = await page.evaluate("sessionStorage.getItem('wagw.token')")
    async with aiohttp.ClientSession() as http:
        async with http.patch(f"{gateway}/api/v1/sessions/{session_id}", headers={"Authorization": f"Bearer {token}"},
                              json={"pacing": {"min_gap_seconds": 2, "warmup": None}}) as changed:
            assert changed.status == 200, await changed.text()
    await expect(page.locator("#pacing-gap")).to_have_text("2 s + up to 0 s", timeout=LIVE)
    await expect(page.locator("#pacing-today")).to_have_text("1 (no limit today)")
    await shoot(page, "07-pacing-desktop")

    await page.get_by_role("button", name="Remove pacing").click()
    await expect(now).to_contain_text("Sends are not paced")
    assert page.problems == [], page.problems


async def test_number_check_groups_and_files_and_what_a_person_reads_when_the_worker_cannot_answer(platform, page):
    gateway, worker_url = platform.url("gateway"), platform.worker_url(next(iter(platform.workers)))
    email, session_id = await connected_instance(page, gateway, worker_url, "Contacts line")

    await page.get_by_label("Phone number to check").fill("+628123456789")
    await page.get_by_role("button", name="Check number").click()
    await expect(page.locator("#number-check")).to_have_text(
        "✓ +628123456789 uses WhatsApp (628123456789@s.whatsapp.net)")
    await page.get_by_label("Phone number to check").fill("628123456780")
    await page.get_by_role("button", name="Check number").click()
    await expect(page.locator("#number-check")).to_have_text("✗ 628123456780 is not on WhatsApp")

    token = await page.evaluate("sessionStorage.getItem('wagw.token')")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{gateway}/api/v1/sessions/{session_id}/groups", headers={
                "Authorization": f"Bearer {token}"}, json={"subject": "Launch team",
                                                          "participants": ["+628111111111"]}) as created:
            assert created.status == 201, await created.text()
    await page.get_by_role("button", name="Load groups").click()
    groups = page.get_by_role("list", name="Groups of this instance")
    await expect(groups).to_contain_text("Launch team")
    await expect(groups).to_contain_text("2 participants, 1 admin(s)")

    # A picture from a file: uploaded, then sent by its link; and one the contact sends, shown on request.
    await page.get_by_label("To (phone number)").fill("+628123456789")
    await page.get_by_label("Or an image file (optional)").set_input_files(
        files=[{"name": "dot.png", "mimeType": "image/png", "buffer": PNG}])
    await page.get_by_role("button", name="Send test message").click()
    sent = page.locator("#messages li.message").first
    await expect(sent.locator(".message-media")).to_have_text("image · image/png · dot.png")
    await expect(sent.get_by_label("Message status: read")).to_be_visible(timeout=LIVE)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{worker_url}/sessions/{session_id}/inbound-media",
                             params={"type": "image", "caption": "the photo", "filename": "photo.png"},
                             data=PNG) as received:
            assert received.status == 202, await received.text()
    received = page.locator("#messages li.message").first
    await expect(received).to_contain_text("the photo", timeout=LIVE)
    await received.get_by_role("button", name="Show file").click()
    picture = received.get_by_role("img", name="Received image: photo.png")
    await expect(picture).to_be_visible()
    await expect(picture).to_have_js_property("naturalWidth", 1)  # the bytes loaded, not a broken image
    await shoot(page, "08-contacts-files-desktop")

    # The worker stalls (SIGSTOP) longer than an impatient gateway waits: the page says so.
    impatient = gateway_replica(platform, WORKER_QUERY_TIMEOUT_SECONDS="0.5",
                                DASHBOARD_REALTIME_URL=platform.url("realtime"))
    impatient.start()
    worker = platform.workers[next(iter(platform.workers))]
    try:
        await impatient.wait_ready()
        await page.goto(f"http://127.0.0.1:{impatient.port}/dashboard/#/login")
        await page.get_by_label("Email").fill(email)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await page.get_by_role("link", name="Contacts line").click()
        await expect(page.locator("#session-status")).to_have_text("CONNECTED")
        worker.pause()  # shorter than the registry's offline window: the session stays where it is
        try:
            await page.get_by_role("button", name="Load groups").click()
            await expect(page.locator(".groups-panel .form-error")).to_have_text(
                "The instance's worker did not answer in time; try again in a moment. (HTTP 504)")
        finally:
            worker.resume()
    finally:
        impatient.stop()

    # Not connected: the page says what to do first.
    await page.goto(gateway + "/dashboard/#/sessions/" + session_id)
    await page.get_by_role("button", name="Disconnect").click()
    await expect(page.locator("#session-status")).to_have_text("DISCONNECTED", timeout=LIVE)
    await page.get_by_role("button", name="Load groups").click()
    await expect(page.locator(".groups-panel .form-error")).to_have_text(
        "Connect the instance first: only a connected instance's worker can answer.")
    assert page.problems == [], page.problems
