// The session's webhook endpoints: register one (its signing secret is shown once), list each
// endpoint's deliveries with their attempts, and send a test event.

import { request } from "../api.js";
import { announce, busy, describe, errorLine, field, formError, h, replace, time } from "../dom.js";
import { ACTIONS, NOT_YET } from "../features.js";
import { secretBox } from "./keys.js";

// Shown when the gateway does not list its event types (GET /webhooks/event-types).
const COMMON_EVENTS = ["message.sent", "message.delivered", "message.read", "message.failed", "message.received",
  "message.edited", "message.deleted", "session.status_changed", "session.qr_updated"];

async function eventTypes() {
  try {
    return (await request("GET", "/webhooks/event-types")).event_types.map((e) => e.type);
  } catch {
    return COMMON_EVENTS;
  }
}

export async function webhooksSection(session) {
  const list = h("div", { class: "endpoints", id: "webhooks" });
  const created = h("div", {});
  const url = h("input", { type: "url", name: "url", required: true, placeholder: "https://example.com/hooks/whatsapp",
    maxlength: 2048 });
  const all = h("input", { type: "checkbox", name: "all", checked: true, id: "wh-all" });
  const boxes = (await eventTypes()).map((event) => h("input", { type: "checkbox", name: "events", value: event }));
  const submit = h("button", { type: "submit", class: "button" }, "Add endpoint");
  const form = h("form", { class: "webhook-form", "aria-label": "Add a webhook endpoint" },
    field("Endpoint URL", url),
    h("fieldset", {}, h("legend", {}, "Events"),
      h("label", { class: "check" }, all, "Every event"),
      h("div", { class: "checks" }, boxes.map((box) => h("label", { class: "check" }, box, box.value)))),
    errorLine(),
    h("div", { class: "actions" }, submit));
  all.addEventListener("change", () => boxes.forEach((box) => { box.disabled = all.checked; }));
  boxes.forEach((box) => { box.disabled = true; });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    busy(submit, true);
    formError(form, null);
    const events = all.checked ? ["*"] : boxes.filter((b) => b.checked).map((b) => b.value);
    try {
      if (!events.length) throw new Error("choose at least one event");
      const reply = await request("POST", "/webhooks", { body: { url: url.value.trim(), events, session_id: session.session_id } });
      replace(created, h("div", { class: "notice-card card" },
        h("p", {}, "Signing secret of the new endpoint (shown once; verify deliveries with it):"),
        secretBox("Signing secret", reply.endpoint.secret)));
      form.reset();
      boxes.forEach((box) => { box.disabled = true; });
      announce("Webhook endpoint added");
      await refresh();
    } catch (error) {
      formError(form, error);
    } finally {
      busy(submit, false);
    }
  });

  async function refresh() {
    try {
      const endpoints = (await request("GET", "/webhooks")).endpoints
        .filter((e) => e.session_id === session.session_id || e.session_id === null);
      replace(list, endpoints.length ? endpoints.map(endpointCard) : h("p", { class: "muted" }, "No endpoint yet."));
    } catch (error) {
      replace(list, h("p", { class: "form-error" }, describe(error)));
    }
  }
  await refresh();

  return h("section", { class: "card", "aria-labelledby": "webhooks-title" },
    h("h2", { id: "webhooks-title" }, "Webhooks"),
    h("div", { class: "grid-2 tight" }, h("div", {}, form, created), list));
}

function endpointCard(endpoint) {
  const deliveries = h("div", { class: "deliveries" });
  const show = h("button", { type: "button", class: "button secondary small", "aria-expanded": "false" }, "Deliveries");
  const test = h("button", { type: "button", class: "button secondary small", disabled: !ACTIONS.testWebhook.ready,
    title: ACTIONS.testWebhook.ready ? "Send a test event to this endpoint" : NOT_YET }, "Send test");
  show.addEventListener("click", async () => {
    const open = show.getAttribute("aria-expanded") === "true";
    show.setAttribute("aria-expanded", String(!open));
    if (open) { deliveries.replaceChildren(); return; }
    await loadDeliveries(endpoint, deliveries);
  });
  test.addEventListener("click", async () => {
    busy(test, true);
    try {
      await request(ACTIONS.testWebhook.method, ACTIONS.testWebhook.path(endpoint.endpoint_id));
      announce("Test event sent");
      show.setAttribute("aria-expanded", "true");
      await loadDeliveries(endpoint, deliveries);
    } catch (error) {
      replace(deliveries, h("p", { class: "form-error", role: "alert" }, describe(error)));
    } finally {
      busy(test, false);
    }
  });
  return h("div", { class: "endpoint" },
    h("p", {}, h("code", { class: "wrap" }, endpoint.url)),
    h("p", { class: "hint" }, endpoint.enabled ? "Enabled" : "Disabled", " · ", endpoint.events.join(", "),
      endpoint.session_id ? "" : " · every instance"),
    h("div", { class: "actions" }, show, test),
    deliveries);
}

async function loadDeliveries(endpoint, target) {
  try {
    const { deliveries } = await request("GET", `/webhooks/${encodeURIComponent(endpoint.endpoint_id)}/deliveries`);
    replace(target, deliveries.length ? h("table", { class: "table" },
      h("caption", { class: "visually-hidden" }, "Deliveries"),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Event"), h("th", { scope: "col" }, "Status"),
        h("th", { scope: "col" }, "Attempts"), h("th", { scope: "col" }, "Created"))),
      h("tbody", {}, deliveries.map((d) => h("tr", {},
        h("td", {}, d.event_type, d.test ? " (test)" : ""), h("td", {}, d.status),
        h("td", {}, attemptsOf(d)),
        h("td", {}, time(d.created_at))))))
      : h("p", { class: "muted" }, "No delivery yet."));
  } catch (error) {
    replace(target, h("p", { class: "form-error" }, describe(error)));
  }
}

// Each attempt's answer (status code, or the error); the list may carry only the count and the last.
function attemptsOf(delivery) {
  const answer = (a) => (a ? a.status_code ?? a.error ?? "…" : "—");
  if (Array.isArray(delivery.attempts)) return delivery.attempts.map(answer).join(", ") || "—";
  return `${delivery.attempt_count ?? 0} · last: ${answer(delivery.last_attempt)}`;
}
