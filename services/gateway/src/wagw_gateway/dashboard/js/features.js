// The actions that depend on gateway routes added after the first release of the dashboard. An
// action whose route the gateway does not offer (`ready: false`) shows as a disabled button with
// the reason as its tooltip; flip `ready` once the route exists.

export const ACTIONS = {
  disconnect: { ready: true, method: "POST", path: (id) => `/sessions/${id}/disconnect` },
  logout: { ready: true, method: "POST", path: (id) => `/sessions/${id}/logout` },
  remove: { ready: true, method: "DELETE", path: (id) => `/sessions/${id}` },
  rotateKey: { ready: true, method: "POST", path: (id) => `/sessions/${id}/api-key` },
  testWebhook: { ready: true, method: "POST", path: (id) => `/webhooks/${id}/test` },
  usage: { ready: true, method: "GET", path: () => "/users/me/usage" },
};

export const NOT_YET = "Not available yet: this gateway does not offer this action";
