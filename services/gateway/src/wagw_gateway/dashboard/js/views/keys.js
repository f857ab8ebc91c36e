// A session's API key: shown once (right after creation or rotation), with a copy button.

import { request } from "../api.js";
import { announce, busy, copyText, describe, h, replace } from "../dom.js";
import { ACTIONS, NOT_YET } from "../features.js";
import { apiKeys } from "../state.js";

export function secretBox(label, value) {
  const copy = h("button", { type: "button", class: "button secondary small" }, "Copy");
  copy.addEventListener("click", () => copyText(value, copy));
  return h("div", { class: "secret" }, h("code", { "aria-label": label, tabindex: "0" }, value), copy);
}

export function keyPanel(session, key) {
  return h("section", { class: "card notice-card", "aria-labelledby": "key-title" },
    h("h2", { id: "key-title", tabindex: "-1" }, `API key of “${session.name}”`),
    h("p", {}, "Copy it now: it is shown only once. Send with it as the ", h("code", {}, "X-API-Key"), " header."),
    secretBox("API key", key),
    h("p", {}, h("a", { href: `#/sessions/${encodeURIComponent(session.session_id)}` }, "Open the instance →")));
}

export function keySection(session) {
  const body = h("div", {});
  const rotate = h("button", {
    type: "button", class: "button secondary", disabled: !ACTIONS.rotateKey.ready,
    title: ACTIONS.rotateKey.ready ? "Issue a new key; the current one stops working" : NOT_YET,
  }, "Rotate key");
  rotate.addEventListener("click", async () => {
    if (!window.confirm("Rotate the key? The current key stops working at once.")) return;
    busy(rotate, true);
    try {
      const reply = await request(ACTIONS.rotateKey.method, ACTIONS.rotateKey.path(session.session_id));
      apiKeys.set(session.session_id, reply.api_key);
      render();
      announce("A new API key was issued");
    } catch (error) {
      replace(body, h("p", { class: "form-error", role: "alert" }, describe(error)));
    } finally {
      busy(rotate, !ACTIONS.rotateKey.ready);
    }
  });
  function render() {
    const key = apiKeys.get(session.session_id);
    replace(body, key
      ? [h("p", {}, "Shown once: copy it now."), secretBox("API key", key)]
      : h("p", { class: "muted" }, "The key was shown once, when the instance was created. Rotate it to get a new one."));
  }
  render();
  return h("section", { class: "card", "aria-labelledby": "apikey-title" },
    h("h2", { id: "apikey-title" }, "API key"), body, h("div", { class: "actions" }, rotate));
}
