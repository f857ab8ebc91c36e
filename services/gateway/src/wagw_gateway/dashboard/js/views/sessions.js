// The home screen: usage against the tier, "Create instance", and the sessions as live cards.

import { request } from "../api.js";
import { announce, busy, errorLine, field, formError, h, replace, statusBadge } from "../dom.js";
import { ACTIONS } from "../features.js";
import * as realtime from "../realtime.js";
import { apiKeys, isFresh } from "../state.js";
import { SessionStatus } from "../statuses.js";
import { keyPanel } from "./keys.js";

// Mirrors the gateway's tier limits until the usage route reports them itself.
const TIER_LIMITS = { BASIC: 1, PRO: 5, MAX: 20 };

export async function sessionsView(main, { user }) {
  const grid = h("div", { class: "cards", id: "session-cards", "aria-busy": "true" });
  const usage = h("p", { class: "usage", id: "usage" });
  const created = h("div", { id: "created" });
  const form = createForm(async (reply) => {
    apiKeys.set(reply.session.session_id, reply.api_key);
    replace(created, keyPanel(reply.session, reply.api_key));
    await refresh();
    announce(`Instance ${reply.session.name} created`);
    created.querySelector("h2").focus();
  });
  const toggle = h("button", { type: "button", class: "button", "aria-expanded": "false", "aria-controls": form.id },
    "Create instance");
  toggle.addEventListener("click", () => {
    form.hidden = !form.hidden;
    toggle.setAttribute("aria-expanded", String(!form.hidden));
    if (!form.hidden) form.querySelector("input").focus();
  });
  form.addEventListener("cancel-form", () => { form.hidden = true; toggle.setAttribute("aria-expanded", "false"); toggle.focus(); });
  main.replaceChildren(
    h("section", { "aria-labelledby": "sessions-title" },
      h("div", { class: "page-head" },
        h("div", {}, h("h1", { id: "sessions-title" }, "Instances"), usage),
        toggle),
      form, created, grid));

  let sessions = [];
  async function refresh() {
    sessions = (await request("GET", "/sessions")).sessions;
    await renderUsage(usage, user, sessions);
    renderCards(grid, sessions);
    grid.setAttribute("aria-busy", "false");
  }
  await refresh();

  const stops = [
    realtime.on("session.status", (event) => {
      if (!isFresh(event.session_id, event.sequence)) return;
      const badge = grid.querySelector(`[data-session-id="${CSS.escape(event.session_id)}"] .badge`);
      if (badge) {
        badge.replaceWith(statusBadge(event.status, { id: `status-${event.session_id}` }));
        const name = sessions.find((s) => s.session_id === event.session_id)?.name || event.session_id;
        announce(`${name} is now ${event.status}`);
      }
    }),
    realtime.on("session.created", (event) => {
      if (!sessions.some((s) => s.session_id === event.session_id)) refresh();
    }),
  ];
  return () => stops.forEach((stop) => stop());
}

function createForm(onCreated) {
  const name = h("input", { type: "text", name: "name", required: true, maxlength: 100, autocomplete: "off" });
  const description = h("textarea", { name: "description", rows: 2, maxlength: 500 });
  const submit = h("button", { type: "submit", class: "button" }, "Create");
  const cancel = h("button", { type: "button", class: "button secondary" }, "Cancel");
  const form = h("form", { class: "card form-inline", id: "create-form", hidden: true, "aria-label": "Create instance" },
    h("h2", {}, "New instance"),
    field("Name", name, "Shown on the card, e.g. “Support line”."),
    field("Description", description),
    errorLine(),
    h("div", { class: "actions" }, submit, cancel));
  cancel.addEventListener("click", () => form.dispatchEvent(new Event("cancel-form")));
  form.addEventListener("keydown", (event) => { if (event.key === "Escape") form.dispatchEvent(new Event("cancel-form")); });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    busy(submit, true);
    formError(form, null);
    try {
      const reply = await request("POST", "/sessions", {
        body: { name: name.value.trim(), description: description.value.trim() },
      });
      form.reset();
      form.hidden = true;
      await onCreated(reply);
    } catch (error) {
      formError(form, error);
    } finally {
      busy(submit, false);
    }
  });
  return form;
}

function renderCards(grid, sessions) {
  if (!sessions.length) {
    replace(grid, h("p", { class: "empty" }, "No instance yet. Create one, then connect it by scanning its QR code."));
    return;
  }
  // The link's accessible name is the instance's name and its (live) status.
  replace(grid, sessions.map((s) => h("a", {
    class: "card session-card", href: `#/sessions/${encodeURIComponent(s.session_id)}`,
    dataset: { sessionId: s.session_id }, "aria-labelledby": `name-${s.session_id} status-${s.session_id}`,
  },
  h("div", { class: "card-head" }, h("h2", { id: `name-${s.session_id}` }, s.name),
    statusBadge(s.status, { id: `status-${s.session_id}` })),
  h("p", { class: "muted" }, s.description || "No description"),
  h("dl", { class: "facts" },
    h("dt", {}, "Id"), h("dd", {}, h("code", {}, s.session_id)),
    h("dt", {}, "Phone"), h("dd", {}, s.phone ? `+${s.phone}` : "—")))));
}

async function renderUsage(el, user, sessions) {
  let used = sessions.filter((s) => s.status !== SessionStatus.DELETED).length;
  let limit = user.session_limit ?? TIER_LIMITS[user.tier];
  let extra = "";
  if (ACTIONS.usage.ready) {
    try {
      const usage = await request("GET", ACTIONS.usage.path());
      used = usage.sessions?.used ?? used;
      limit = usage.sessions?.limit ?? limit;
      const sent = usage.messages?.sent;
      if (sent !== undefined) extra = `${sent} message${sent === 1 ? "" : "s"} sent today`;
    } catch { /* keep the counts we have */ }
  }
  const ratio = limit ? Math.min(1, used / limit) : 0;
  replace(el, `${used} of ${limit ?? "?"} instances used on the ${user.tier} tier`,
    h("meter", { min: 0, max: limit || 1, value: used, "aria-label": "Instances used", high: Math.max(0, (limit || 1) - 0.5) }),
    ratio >= 1 ? h("span", {}, "limit reached") : null, extra ? h("span", {}, `· ${extra}`) : null);
}
