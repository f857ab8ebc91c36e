// One session: its live status, Connect with the QR code, the other lifecycle actions, its API key,
// a test message with its live status, its send pacing, its contacts and groups, and its webhooks.

import { request } from "../api.js";
import { announce, busy, describe, h, replace, showError, statusBadge, time } from "../dom.js";
import { ACTIONS, NOT_YET } from "../features.js";
import { qrSvg } from "../qr.js";
import * as realtime from "../realtime.js";
import { isFresh } from "../state.js";
import { SessionStatus } from "../statuses.js";
import { contactsSection } from "./contacts.js";
import { keySection } from "./keys.js";
import { messagesSection } from "./messages.js";
import { pacingSection } from "./pacing.js";
import { webhooksSection } from "./webhooks.js";

const CONNECTABLE = new Set([SessionStatus.DISCONNECTED, SessionStatus.LOGGED_OUT, SessionStatus.ERROR]);
// What each action makes sense from (the gateway answers 409 otherwise).
const LIVE = [SessionStatus.CONNECTING, SessionStatus.QR_REQUIRED, SessionStatus.CONNECTED, SessionStatus.RECONNECTING];
const ALLOWED = {
  disconnect: new Set(LIVE),
  logout: new Set([...LIVE, SessionStatus.DISCONNECTED, SessionStatus.ERROR]),
  remove: new Set([...LIVE, SessionStatus.DISCONNECTED, SessionStatus.LOGGED_OUT, SessionStatus.ERROR]),
};

export async function sessionView(main, { sessionId, navigate }) {
  let session = (await request("GET", `/sessions/${encodeURIComponent(sessionId)}`)).session;
  const stops = [];
  let qr = session.qr ? { qr: session.qr, expires_at: session.qr_expires_at } : null;

  const status = h("span", { id: "session-status", role: "status", "aria-live": "polite" });
  const phone = h("dd", { id: "session-phone" });
  const qrBox = h("div", { class: "qr-box", id: "qr", "aria-live": "polite" });
  const actionError = h("p", { class: "form-error", role: "alert", hidden: true });
  const connect = h("button", { type: "button", class: "button", id: "connect" }, "Connect");
  const lifecycle = {
    disconnect: actionButton("Disconnect", "disconnect", "Close the WhatsApp connection; the phone stays linked"),
    logout: actionButton("Log out phone", "logout", "Unlink the phone; a new QR scan is needed"),
    remove: actionButton("Delete", "remove", "Delete the instance and its API key", "danger"),
  };

  function render() {
    replace(status, statusBadge(session.status));
    phone.textContent = session.phone ? `+${session.phone}` : "—";
    connect.disabled = !CONNECTABLE.has(session.status);
    for (const [name, button] of Object.entries(lifecycle)) {
      if (ACTIONS[name].ready) button.disabled = !ALLOWED[name].has(session.status);
    }
    renderQr();
  }

  // A reply can arrive after a live event that is already newer (the QR often beats the reply to
  // Connect): keep the live status then, take the rest of the reply.
  let statusEvents = 0;
  function applyReply(fresh, seenBefore) {
    const stale = statusEvents !== seenBefore || !isFresh(sessionId, fresh.sequence);
    session = stale ? { ...fresh, status: session.status } : fresh;
  }

  let countdown = null;
  function renderQr() {
    clearInterval(countdown);
    if (session.status === SessionStatus.CONNECTED) {
      replace(qrBox, h("p", { class: "connected" }, "✓ Connected", session.phone ? ` as +${session.phone}` : ""));
      return;
    }
    if (!qr || ![SessionStatus.QR_REQUIRED, SessionStatus.CONNECTING].includes(session.status)) {
      const waiting = session.status === SessionStatus.CONNECTING;
      replace(qrBox, h("p", { class: "muted" }, waiting ? "Waiting for the QR code…"
        : "Press Connect to get a QR code, then scan it with WhatsApp on your phone (Linked devices)."));
      return;
    }
    const left = h("p", { class: "muted", id: "qr-expiry" });
    const tick = () => {
      const seconds = Math.max(0, Math.round((new Date(qr.expires_at) - Date.now()) / 1000));
      if (!qr.expires_at) left.textContent = "";
      else left.textContent = seconds ? `Expires in ${seconds} s; a new one follows by itself.` : "Expired; waiting for a new one…";
    };
    tick();
    countdown = setInterval(tick, 1000);
    replace(qrBox, qrSvg(qr.qr, "QR code to scan with WhatsApp"),
      h("p", {}, "Open WhatsApp on your phone › Linked devices › Link a device, and scan this code."), left);
  }

  connect.addEventListener("click", async () => {
    busy(connect, true);
    actionError.hidden = true;
    try {
      const seen = statusEvents;
      applyReply((await request("POST", `/sessions/${encodeURIComponent(sessionId)}/connect`)).session, seen);
      announce("Connecting; the QR code follows");
    } catch (error) {
      actionError.textContent = describe(error);
      actionError.hidden = false;
    } finally {
      busy(connect, false);
      render();
    }
  });

  function actionButton(label, name, hint, tone = "secondary") {
    const action = ACTIONS[name];
    const button = h("button", {
      type: "button", class: `button ${tone}`, disabled: !action.ready, title: action.ready ? hint : NOT_YET,
      "aria-describedby": action.ready ? null : "not-yet-note" }, label);
    button.addEventListener("click", async () => {
      if (name !== "disconnect" && !window.confirm(`${label}: are you sure?`)) return;
      busy(button, true);
      try {
        const seen = statusEvents;
        const reply = await request(action.method, action.path(sessionId));
        if (name === "remove") { navigate("#/"); return; }
        if (reply && reply.session) applyReply(reply.session, seen);
        render();
      } catch (error) {
        actionError.textContent = describe(error);
        actionError.hidden = false;
      } finally {
        busy(button, false);
        render();
      }
    });
    return button;
  }

  const anyMissing = Object.values(lifecycle).some((b) => b.disabled);
  main.replaceChildren(h("article", { class: "session", "aria-labelledby": "session-title" },
    h("p", {}, h("a", { href: "#/", class: "back" }, "← All instances")),
    h("div", { class: "page-head" },
      h("div", {}, h("h1", { id: "session-title" }, session.name), h("p", { class: "muted" }, session.description || "")),
      status),
    h("div", { class: "grid-2" },
      h("section", { class: "card", "aria-labelledby": "conn-title" },
        h("h2", { id: "conn-title" }, "Connection"),
        h("dl", { class: "facts" },
          h("dt", {}, "Id"), h("dd", {}, h("code", {}, session.session_id)),
          h("dt", {}, "Phone"), phone,
          h("dt", {}, "Created"), h("dd", {}, time(session.created_at))),
        qrBox,
        h("div", { class: "actions" }, connect, ...Object.values(lifecycle)),
        anyMissing ? h("p", { class: "hint", id: "not-yet-note" }, "Disabled actions are not offered by this gateway yet.") : null,
        actionError),
      keySection(session)),
    messagesSection(session, stops),
    h("div", { class: "grid-2" }, pacingSection(session, stops), contactsSection(session)),
    await webhooksSection(session)));
  render();
  document.title = `${session.name} · WhatsApp Gateway`;

  stops.push(
    realtime.on("session.status", (event) => {
      if (event.session_id !== sessionId || !isFresh(sessionId, event.sequence)) return;
      statusEvents += 1;
      const changed = event.status !== session.status;
      session = { ...session, status: event.status };
      if (event.status === SessionStatus.CONNECTED || event.status === SessionStatus.DISCONNECTED) qr = null;
      if (changed) announce(`Status: ${event.status}`);
      if (event.status === SessionStatus.CONNECTED && !session.phone) {
        const seen = statusEvents;
        request("GET", `/sessions/${encodeURIComponent(sessionId)}`).then((r) => { applyReply(r.session, seen); render(); })
          .catch(showError);
      }
      render();
    }),
    realtime.on("session.qr", (event) => {
      if (event.session_id !== sessionId) return;
      qr = { qr: event.qr, expires_at: event.expires_at };
      if (session.status !== SessionStatus.CONNECTED) {
        if (![SessionStatus.QR_REQUIRED, SessionStatus.CONNECTING].includes(session.status)) {
          session = { ...session, status: SessionStatus.QR_REQUIRED };
        }
        announce("A new QR code is ready to scan");
        render();
      }
    }),
  );
  realtime.subscribe(sessionId);
  return () => {
    clearInterval(countdown);
    realtime.unsubscribe(sessionId);
    stops.forEach((stop) => stop());
  };
}
