// The realtime edge (Socket.IO): one connection per signed-in tab, authenticated with the access
// token. Views register handlers with on(); the connection state shows in the top bar.

import { realtimeUrl, refreshToken, signOut, token } from "./api.js";

let socket = null;
const handlers = new Map(); // event name -> Set of functions
const subscribed = new Set(); // session ids whose current state we asked for

export function on(event, handler) {
  if (!handlers.has(event)) handlers.set(event, new Set());
  handlers.get(event).add(handler);
  return () => handlers.get(event).delete(handler);
}

function dispatch(event, data) {
  for (const handler of handlers.get(event) || []) {
    try { handler(data); } catch (error) { console.error(event, error); }
  }
}

function showState(state) {
  const live = document.getElementById("live");
  live.dataset.state = state;
  document.getElementById("live-text").textContent = state;
}

export function connect() {
  if (socket || !window.io) return;
  socket = window.io(realtimeUrl(), { auth: { token: token() }, transports: ["websocket", "polling"] });
  socket.on("connect", () => {
    showState("live");
    for (const sessionId of subscribed) socket.emit("subscribe", { session_id: sessionId });
  });
  socket.on("disconnect", () => showState("offline"));
  socket.on("connect_error", async (error) => {
    showState("offline");
    if (!error || !error.data || error.data.code !== "token_expired") return; // the client retries by itself
    if (await refreshToken()) {
      socket.auth = { token: token() };
      socket.connect();
    } else {
      signOut("Your session has expired; please log in again.");
    }
  });
  // The server warns before the connection's token expires: hand it a fresh one.
  socket.on("auth.expiring", async () => {
    if (await refreshToken()) {
      socket.auth = { token: token() };
      socket.emit("reauth", { token: token() });
    }
  });
  socket.on("auth.ended", () => signOut("Your session has ended; please log in again."));
  socket.onAny((event, data) => dispatch(event, data));
}

// Join the session's room and receive its current status and QR at once (and again on reconnect).
export function subscribe(sessionId) {
  subscribed.add(sessionId);
  if (socket && socket.connected) socket.emit("subscribe", { session_id: sessionId });
}

export function unsubscribe(sessionId) {
  subscribed.delete(sessionId);
}

export function disconnect() {
  if (socket) socket.disconnect();
  socket = null;
  subscribed.clear();
  showState("offline");
}
