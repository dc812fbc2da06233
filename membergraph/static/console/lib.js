// What every part of the console shares: the GraphQL call, who is asking, and the few
// helpers that build its tables. Nothing here is trusted: the gateway checks scopes and masks
// personal data; the page only hides buttons a caller could not use.

export const $ = (selector) => document.querySelector(selector);
export const state = {
  viewer: null, member: null, pending: null, undo: null, socket: null, cursor: null,
};

export async function gql(query, variables = {}) {
  const key = sessionStorage.getItem("membergraph-key");
  const headers = { "content-type": "application/json", accept: "application/json" };
  if (key) headers["x-api-key"] = key;
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST", headers, body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    return unanswered(`The gateway could not be reached (${error.message})`);
  }
  if (response.status === 401) {
    const given = prompt("API key for membergraph (kept for this tab only):");
    if (given) { sessionStorage.setItem("membergraph-key", given); return gql(query, variables); }
  }
  // A proxy in front of the gateway (a restart, a timeout) answers its own page, not GraphQL:
  // said with its status, as an error every caller already shows.
  try {
    return await response.json();
  } catch {
    const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
    return unanswered(`The gateway did not answer (${status}, not a GraphQL answer): try again`);
  }
}

// No answer from the gateway itself: what was sent may or may not have been carried out
// (``unanswered``: a change is checked before it is said either way).
const unanswered = (message) => ({ errors: [{ message }], unanswered: true });

// A score as a steward must read it: never rounded up to a certainty it is not (0.99999 is
// "0.99", not "1.00"); floored to two decimals, a hair's float error aside.
export const scoreText = (score) => (Math.floor(score * 100 + 1e-9) / 100).toFixed(2);

export function firstError(body) {
  const error = (body.errors || [])[0];
  if (!error) return null;
  const code = (error.extensions || {}).code;
  return code ? `${error.message} (${code})` : error.message;
}

export function show(message) {
  const box = $("#message");
  box.textContent = message || "";
  box.hidden = !message;
}

export const text = (value) => (value === null || value === undefined ? "—" : String(value));
export const when = (at) => at.replace("T", " ").slice(0, 16);

export function cell(row, content, className) {
  const td = document.createElement("td");
  if (content instanceof Node) td.append(content); else td.textContent = text(content);
  if (className) td.className = className;
  row.append(td);
  return td;
}

// Each cell names its column (data-label): a phone shows a table's rows stacked, a cell a line.
export function labelCells(table) {
  const labels = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  for (const row of table.tBodies[0].rows) {
    [...row.cells].forEach((td, i) => { td.dataset.label = labels[i] || ""; });
  }
}

export function button(label, onClick, attributes = {}) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  for (const [k, v] of Object.entries(attributes)) b.setAttribute(k, v);
  b.addEventListener("click", onClick);
  return b;
}

export function evidence(value) {
  const code = document.createElement("code");
  code.className = "evidence";
  code.textContent = value && Object.keys(value).length ? JSON.stringify(value) : "";
  return code;
}

export const canWrite = () => !!state.viewer && state.viewer.scopes.includes("identity:write");
// The API says which events undo takes (a steward's change, a merge); the rules' own are not.
export const undoable = (event) => !!event && canWrite() && event.undoable;

// The member a record's key can be found by, through the identifier the key holds: a CRM
// contact, a card or an online customer's e-mail, a visitor's device (a login's, by its
// contact). A call names no identifier of its own: null.
export function lookupOf(record) {
  if (record.source === "CRM") return ["CRM_ID", record.key];
  if (record.source === "WEB_ANALYTICS") {
    const [device, login] = record.key.split("|login:");
    return login ? ["CRM_ID", login] : ["ANONYMOUS_ID", device.split("|")[0]];
  }
  if (record.source === "TRANSACTIONS") {
    const [how, value] = record.key.split(/:(.*)/s);
    return [how === "loyalty" ? "LOYALTY_ID" : "EMAIL", value];
  }
  return null;
}
