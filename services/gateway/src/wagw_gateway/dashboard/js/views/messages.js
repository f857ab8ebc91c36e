// Send a test message (text, or an image by its URL or from a file) with the session's API key and
// watch it move: queued → sent → delivered → read. Received messages appear live; a received file is
// described, and shown on request.

import { request } from "../api.js";
import { announce, busy, errorLine, field, formError, h, replace, statusBadge, time } from "../dom.js";
import * as realtime from "../realtime.js";
import { apiKeys } from "../state.js";
import { mediaLine, receivedFile, upload } from "./media.js";

const STEPS = ["queued", "sent", "delivered", "read"];
const RANK = { queued: 0, sent: 1, delivered: 2, read: 3, failed: 4, received: 4 };

export function messagesSection(session, stops) {
  const rows = new Map(); // message id -> {li, status}
  const list = h("ol", { class: "messages", id: "messages", "aria-label": "Messages of this instance" });
  const to = h("input", { type: "tel", name: "to", required: true, placeholder: "+628123456789", autocomplete: "off",
    maxlength: 40 });
  const text = h("textarea", { name: "text", required: true, rows: 2, maxlength: 4096 }, "Hello from the dashboard");
  const image = h("input", { type: "url", name: "image_url", placeholder: "https://example.com/photo.jpg",
    autocomplete: "off", maxlength: 2048 });
  const file = h("input", { type: "file", name: "image_file", accept: "image/jpeg,image/png,image/webp,image/gif" });
  const key = h("input", { type: "password", name: "api_key", required: true, autocomplete: "off",
    value: apiKeys.get(session.session_id) || "" });
  const submit = h("button", { type: "submit", class: "button" }, "Send test message");
  const form = h("form", { class: "send-form", "aria-label": "Send a test message" },
    field("To (phone number)", to),
    field("Text", text),
    field("Image URL (optional)", image, "Sends the image at this address, with the text as its caption."),
    field("Or an image file (optional)", file, "Uploaded to the gateway first, then sent with the text as its caption."),
    field("API key of this instance", key, "Shown once when the instance was created; sent as the X-API-Key header."),
    errorLine(),
    h("div", { class: "actions" }, submit));

  function upsert(message) {
    let row = rows.get(message.message_id);
    if (!row) {
      const li = h("li", { class: "message", dataset: { messageId: message.message_id } });
      row = { li, status: null, message, file: null };
      rows.set(message.message_id, row);
      list.prepend(li);
    }
    row.message = { ...row.message, ...message, status: row.message?.status };
    row.file ||= receivedFile(row.message);
    if (row.status === null || RANK[message.status] >= RANK[row.status]) row.status = message.status;
    draw(row);
    return row;
  }

  function draw(row) {
    const { message, status } = row;
    const reached = RANK[status] ?? -1;
    replace(row.li,
      h("div", { class: "message-head" },
        h("span", {}, message.direction === "inbound" ? "From " : "To ", h("strong", {}, message.chat || message.to || "")),
        statusBadge(status, { "aria-label": `Message status: ${status}` })),
      h("p", { class: "message-text" }, message.text || ""),
      mediaLine(message),
      row.file,
      message.deleted_at ? h("p", { class: "hint" }, "Deleted for everyone") : message.edited_at ? h("p", { class: "hint" }, "Edited") : null,
      message.direction === "inbound" ? null : h("ol", { class: "steps", "aria-label": "Progress" },
        STEPS.map((step) => h("li", { class: RANK[step] <= reached && status !== "failed" ? "done" : "" }, step))),
      message.reason ? h("p", { class: "form-error" }, message.reason) : null,
      message.created_at ? h("p", { class: "hint" }, time(message.created_at)) : null);
  }

  // A chosen file wins over an address: uploaded, then sent by the link the upload answers.
  async function chosenImage(apiKey) {
    if (file.files.length) {
      const uploaded = await upload(file.files[0], apiKey);
      return { url: uploaded.url, mimetype: uploaded.mimetype, filename: uploaded.filename };
    }
    const url = image.value.trim();
    return url ? { url } : null;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    busy(submit, true);
    formError(form, null);
    try {
      const apiKey = key.value.trim();
      const media = await chosenImage(apiKey);
      const body = media ? { to: to.value.trim(), type: "image", text: text.value, media }
        : { to: to.value.trim(), text: text.value };
      const reply = await request("POST", "/send", { apiKey, body });
      upsert({ ...body, message_id: reply.message_id, status: reply.status, direction: "outbound" });
      file.value = "";
      announce(`Message ${reply.status}`);
    } catch (error) {
      formError(form, error);
    } finally {
      busy(submit, false);
    }
  });

  stops.push(realtime.on("message.status", (event) => {
    if (event.session_id !== session.session_id) return;
    const before = rows.get(event.message_id)?.status;
    const row = upsert({ message_id: event.message_id, status: event.status, reason: event.reason });
    if (row.status !== before) announce(`Message ${row.status}`);
  }));
  stops.push(realtime.on("message.received", (event) => {
    if (event.session_id !== session.session_id) return;
    upsert({ ...event, status: "received", direction: "inbound", created_at: event.at });
  }));
  stops.push(realtime.on("message.edited", (event) => {
    if (event.session_id === session.session_id) upsert({ message_id: event.message_id, text: event.text, edited_at: event.at });
  }));
  stops.push(realtime.on("message.deleted", (event) => {
    if (event.session_id === session.session_id) upsert({ message_id: event.message_id, deleted_at: event.at });
  }));

  request("GET", `/sessions/${encodeURIComponent(session.session_id)}/messages?limit=20`)
    .then((page) => page.messages.slice().reverse().forEach(upsert))
    .catch(() => {});

  return h("section", { class: "card", "aria-labelledby": "messages-title" },
    h("h2", { id: "messages-title" }, "Messages"),
    h("div", { class: "grid-2 tight" }, form, h("div", {}, h("h3", {}, "Recent"), list)));
}
