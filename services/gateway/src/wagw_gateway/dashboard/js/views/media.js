// Files in messages: a file to send is uploaded first (`POST /media`, multipart) and sent by the link
// it answers; a received file is described in the list, and shown (a picture) or linked (anything
// else) on request, through an expiring link from `media-link` (same origin, so the page's policy
// lets a picture load).

import { request } from "../api.js";
import { busy, h, replace } from "../dom.js";

const SHOWN = /^image\/(jpeg|png|gif|webp)$/; // what a browser shows as an <img>; the rest is a download link

export async function upload(file, apiKey) {
  const form = new FormData();
  form.append("file", file, file.name);
  return request("POST", "/media", { form, apiKey });
}

// A file is described (its type, size, name or address); the bytes come only through the link.
export function mediaLine(message) {
  const media = message.media;
  if (!media) return null;
  const size = media.size == null ? null : `${Math.max(1, Math.round(media.size / 1024))} KB`;
  const kind = media.ptt ? "voice note" : message.type;
  return h("p", { class: "hint message-media" },
    [kind, media.mimetype, size, media.filename || media.url].filter(Boolean).join(" · "));
}

export function receivedFile(message) {
  if (message.direction !== "inbound" || !message.media || !message.message_id) return null;
  const box = h("div", { class: "message-file" });
  const open = h("button", { type: "button", class: "button small secondary" }, "Show file");
  open.addEventListener("click", async () => {
    busy(open, true);
    try {
      const link = await request("GET", `/messages/${encodeURIComponent(message.message_id)}/media-link`);
      const name = message.media.filename || `${message.type} file`;
      replace(box, SHOWN.test(message.media.mimetype || "")
        ? h("img", { class: "message-picture", src: link.url, alt: `Received ${message.type}: ${name}` })
        : h("a", { href: link.url, download: name }, `Download ${name}`));
    } catch (error) {
      replace(box, h("p", { class: "form-error", role: "alert" },
        error.status === 404 ? "The file is not available (not stored, or past its retention)." : error.message));
    } finally {
      busy(open, false);
    }
  });
  return replace(box, open);
}
