// The session's send pacing: the policy in force and what it is doing now (sends waiting, the next
// free slot, sends today against the warm-up's limit); a person sets, changes or removes it. A change
// made elsewhere (the API, another tab) arrives live as `session.pacing_changed`.

import { request } from "../api.js";
import { announce, busy, errorLine, field, formError, h, replace, time } from "../dom.js";
import * as realtime from "../realtime.js";

const REFRESH_AFTER_MS = 500; // sends come in bursts: one view read for a burst of status events

export function pacingSection(session, stops) {
  const path = `/sessions/${encodeURIComponent(session.session_id)}`;
  let pacing = session.pacing;
  const now = h("div", { id: "pacing-now", "aria-live": "polite" });
  const gap = number("min_gap_seconds", { min: 0, max: 86400, step: "any", required: true });
  const jitter = number("jitter_seconds", { min: 0, max: 3600, step: "any" });
  const firstDay = number("first_day_limit", { min: 1, step: 1 });
  const increase = number("daily_increase", { min: 0, step: 1 });
  const days = number("days", { min: 1, max: 365, step: 1 });
  const save = h("button", { type: "submit", class: "button" }, "Save pacing");
  const remove = h("button", { type: "button", class: "button danger" }, "Remove pacing");
  const form = h("form", { class: "pacing-form", "aria-label": "Send pacing policy" },
    field("Minimum gap between sends (seconds)", gap),
    field("Random extra wait, up to (seconds)", jitter, "Jitter: sends a machine-regular beat would not."),
    h("fieldset", {},
      h("legend", {}, "Warm-up of a new number (optional)"),
      field("Sends allowed on day 1", firstDay, "Leave empty for no daily limit."),
      field("More sends each following day", increase),
      field("Warm-up days", days)),
    errorLine(),
    h("div", { class: "actions" }, save, remove));

  function render() {
    remove.disabled = !pacing;
    if (!pacing) {
      replace(now, h("p", { class: "muted" }, "Sends are not paced: each goes to WhatsApp as soon as it can."));
      return;
    }
    const { usage, warmup } = pacing;
    const limit = usage.day_limit === null ? "no limit today" : `limit ${usage.day_limit}`;
    replace(now, h("dl", { class: "facts" },
      h("dt", {}, "Gap"), h("dd", { id: "pacing-gap" }, `${pacing.min_gap_seconds} s + up to ${pacing.jitter_seconds} s`),
      h("dt", {}, "Warm-up"), h("dd", {}, warmup
        ? `${warmup.first_day_limit} on day 1, +${warmup.daily_increase} a day, for ${warmup.days} days from ${pacing.since}`
        : "none"),
      h("dt", {}, "Waiting"), h("dd", { id: "pacing-waiting" }, usage.waiting ?? "—"),
      h("dt", {}, "Next slot"), h("dd", {}, time(usage.next_slot_at)),
      h("dt", {}, "Sends today"), h("dd", { id: "pacing-today" }, `${usage.sent_today} (${limit})`)));
  }

  // The form shows the policy in force when it changes, not at each usage refresh (someone may be typing).
  function fill() {
    const warmup = pacing?.warmup;
    gap.value = pacing?.min_gap_seconds ?? "";
    jitter.value = pacing?.jitter_seconds ?? "";
    firstDay.value = warmup?.first_day_limit ?? "";
    increase.value = warmup?.daily_increase ?? "";
    days.value = warmup?.days ?? "";
  }

  // The command's reply leaves `waiting` uncounted: the view read counts it.
  async function refresh({ policyChanged = false } = {}) {
    pacing = (await request("GET", path)).session.pacing;
    if (policyChanged) fill();
    render();
  }

  async function change(button, policy, said) {
    busy(button, true);
    formError(form, null);
    try {
      await request("PATCH", path, { body: { pacing: policy } });
      await refresh({ policyChanged: true });
      announce(said);
    } catch (error) {
      formError(form, error);
    } finally {
      busy(button, false);
      render();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const warmup = firstDay.value === "" ? null
      : { first_day_limit: Number(firstDay.value), daily_increase: Number(increase.value || 0), days: Number(days.value || 1) };
    change(save, { min_gap_seconds: Number(gap.value), jitter_seconds: Number(jitter.value || 0), warmup },
      "Pacing saved");
  });
  remove.addEventListener("click", () => change(remove, null, "Pacing removed: sends are no longer paced"));

  let pending = null;
  let policyChanged = false;
  const refreshSoon = (changed = false) => {
    policyChanged ||= changed;
    pending ||= setTimeout(() => {
      pending = null;
      refresh({ policyChanged }).catch(() => {});
      policyChanged = false;
    }, REFRESH_AFTER_MS);
  };
  stops.push(
    realtime.on("session.pacing_changed", (event) => { if (event.session_id === session.session_id) refreshSoon(true); }),
    realtime.on("message.status", (event) => { if (pacing && event.session_id === session.session_id) refreshSoon(); }),
    () => clearTimeout(pending),
  );
  fill();
  render();
  return h("section", { class: "card", "aria-labelledby": "pacing-title" },
    h("h2", { id: "pacing-title" }, "Send pacing"),
    h("p", { class: "hint" }, "Spaces this instance's sends and ramps a new number up slowly, against bans."),
    now, form);
}

function number(name, attrs) {
  return h("input", { type: "number", name, inputmode: "decimal", ...attrs });
}
