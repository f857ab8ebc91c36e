// Contacts and groups, asked of the session's worker through the gateway: does a number use
// WhatsApp, and which groups the session is in. Only a CONNECTED session's worker answers; when it
// cannot (no worker now, or no answer in time) the error says what happened and what to do.

import { request } from "../api.js";
import { busy, errorLine, field, formError, h, replace } from "../dom.js";

// The gateway's answer when the worker cannot answer -> what a person reads.
const WORKER_TROUBLE = {
  503: "No worker holds this instance right now (it is moving to another one); try again in a moment.",
  504: "The instance's worker did not answer in time; try again in a moment.",
  501: "This instance's worker cannot answer that question.",
};

export function explained(error) {
  if (error.status === 409 && error.details?.reason === "session_not_connected") {
    return { message: "Connect the instance first: only a connected instance's worker can answer." };
  }
  const trouble = WORKER_TROUBLE[error.status];
  return trouble ? { message: `${trouble} (HTTP ${error.status})` } : error;
}

export function contactsSection(session) {
  const base = `/sessions/${encodeURIComponent(session.session_id)}`;
  return h("section", { class: "card", "aria-labelledby": "contacts-title" },
    h("h2", { id: "contacts-title" }, "Contacts and groups"),
    h("div", { class: "grid-2 tight" }, numberCheck(base), groupsPanel(base)));
}

function numberCheck(base) {
  const phone = h("input", { type: "tel", name: "phone", required: true, placeholder: "+628123456789",
    autocomplete: "off", maxlength: 20 });
  const submit = h("button", { type: "submit", class: "button secondary" }, "Check number");
  const answer = h("p", { id: "number-check", role: "status" });
  const form = h("form", { "aria-label": "Check a number" },
    h("h3", {}, "Check a number"),
    field("Phone number to check", phone, "Whether this number uses WhatsApp, as the instance sees it."),
    errorLine(),
    h("div", { class: "actions" }, submit),
    answer);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    busy(submit, true);
    formError(form, null);
    answer.textContent = "";
    try {
      const found = await request("GET", `${base}/contacts/check?phone=${encodeURIComponent(phone.value.trim())}`);
      answer.textContent = found.exists ? `✓ ${found.phone} uses WhatsApp (${found.jid})`
        : `✗ ${found.phone} is not on WhatsApp`;
    } catch (error) {
      formError(form, explained(error));
    } finally {
      busy(submit, false);
    }
  });
  return form;
}

function groupsPanel(base) {
  const list = h("ul", { class: "groups", id: "groups", "aria-label": "Groups of this instance" });
  const load = h("button", { type: "button", class: "button secondary" }, "Load groups");
  const error = errorLine();
  load.addEventListener("click", async () => {
    busy(load, true);
    error.hidden = true;
    try {
      const { groups } = await request("GET", `${base}/groups`);
      replace(list, groups.length ? groups.map(groupItem) : h("li", { class: "muted" }, "The instance is in no group."));
    } catch (failure) {
      replace(list);
      error.textContent = explained(failure).message;
      error.hidden = false;
    } finally {
      busy(load, false);
    }
  });
  return h("div", { class: "groups-panel" },
    h("h3", {}, "Groups"), h("div", { class: "actions" }, load), error, list);
}

function groupItem(group) {
  const admins = group.participants.filter((p) => p.role !== "member").length;
  return h("li", { class: "group" },
    h("strong", {}, group.subject),
    h("span", { class: "hint" }, `${group.participants.length} participants, ${admins} admin(s) · `, h("code", {}, group.jid)));
}
