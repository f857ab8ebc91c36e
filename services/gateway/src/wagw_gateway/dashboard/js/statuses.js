// A session's statuses, as the platform declares them once (`SessionStatus` in the common contracts).
// The browser cannot import that declaration, so it is copied here, in the same order; a unit test
// compares the two, so a status added on one side and not the other fails the build.

export const SessionStatus = Object.freeze({
  DISCONNECTED: "DISCONNECTED",
  CONNECTING: "CONNECTING",
  QR_REQUIRED: "QR_REQUIRED",
  CONNECTED: "CONNECTED",
  RECONNECTING: "RECONNECTING",
  LOGGED_OUT: "LOGGED_OUT",
  ERROR: "ERROR",
  DELETED: "DELETED",
});
