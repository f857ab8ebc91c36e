// What the tab remembers between views. API keys are shown once by the gateway: the ones created
// in this tab stay in memory (never in storage) so the test-message form can use them.

export const apiKeys = new Map(); // session id -> API key
export const lastSequence = new Map(); // session id -> highest session event sequence applied

// Session events carry a sequence; ignore one that is not above the last applied (out of order).
export function isFresh(sessionId, sequence) {
  if (sequence === null || sequence === undefined) return true;
  const last = lastSequence.get(sessionId);
  if (last !== undefined && sequence < last) return false;
  lastSequence.set(sessionId, sequence);
  return true;
}
