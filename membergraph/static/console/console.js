// The steward console: a client of the public GraphQL API, like any other. Nothing here is
// trusted: the gateway checks scopes and masks personal data; the page only hides buttons a
// caller could not use. No request leaves for another host.

const $ = (selector) => document.querySelector(selector);
const state = { viewer: null, member: null, pending: null, undo: null, socket: null };

// ---------------------------------------------------------------- GraphQL over HTTP

async function gql(query, variables = {}) {
  const key = sessionStorage.getItem("membergraph-key");
  const headers = { "content-type": "application/json", accept: "application/json" };
  if (key) headers["x-api-key"] = key;
  const response = await fetch("/graphql", {
    method: "POST", headers, body: JSON.stringify({ query, variables }),
  });
  if (response.status === 401) {
    const given = prompt("API key for membergraph (kept for this tab only):");
    if (given) { sessionStorage.setItem("membergraph-key", given); return gql(query, variables); }
  }
  const body = await response.json();
  return body;
}

function firstError(body) {
  const error = (body.errors || [])[0];
  if (!error) return null;
  const code = (error.extensions || {}).code;
  return code ? `${error.message} (${code})` : error.message;
}

function show(message) {
  const box = $("#message");
  box.textContent = message || "";
  box.hidden = !message;
}

const text = (value) => (value === null || value === undefined ? "—" : String(value));

function cell(row, content, className) {
  const td = document.createElement("td");
  if (content instanceof Node) td.append(content); else td.textContent = text(content);
  if (className) td.className = className;
  row.append(td);
  return td;
}

// Each cell names its column (data-label): a phone shows a table's rows stacked, a cell a line.
function labelCells(table) {
  const labels = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  for (const row of table.tBodies[0].rows) {
    [...row.cells].forEach((td, i) => { td.dataset.label = labels[i] || ""; });
  }
}

function button(label, onClick, attributes = {}) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  for (const [k, v] of Object.entries(attributes)) b.setAttribute(k, v);
  b.addEventListener("click", onClick);
  return b;
}

const evidence = (value) => {
  const code = document.createElement("code");
  code.className = "evidence";
  code.textContent = value && Object.keys(value).length ? JSON.stringify(value) : "";
  return code;
};

// ---------------------------------------------------------------- who is asking

async function loadViewer() {
  const body = await gql("{ viewer { name scopes memberId } }");
  state.viewer = (body.data || {}).viewer || { name: "?", scopes: [] };
  const can = state.viewer.scopes;
  $("#viewer").textContent = `Signed in as ${state.viewer.name}: ` +
    (can.includes("identity:write") ? "may review and fix identity" : "may look, not change") +
    (can.includes("pii:read") ? "" : "; personal data masked");
  // The conflicts queue is the stewards' and the analysts' (never a token bound to a member).
  $("#tab-conflicts").hidden = !!state.viewer.memberId ||
    !(can.includes("identity:write") || can.includes("analytics:read"));
}

const canWrite = () => !!state.viewer && state.viewer.scopes.includes("identity:write");
// The API says which events undo takes (a steward's change, a merge); the rules' own are not.
const undoable = (event) => !!event && canWrite() && event.undoable;

// ---------------------------------------------------------------- a member, whole

const MEMBER = `id redirectedFrom
  profile { firstName lastName }
  loyalty { pointsBalance tier }
  records { source key }
  transactions(first: 100) { totalCount edges { node { transactionId loyaltyId email pointsEarned pointsRedeemed status occurredAt } } }
  webActivity(first: 100) { eventId anonymousId }
  callCenterInteractions(first: 100) { interactionId startedAt reason }
  identityHistory { id kind at actor rule reason evidence undoable undoneBy records { source key } }`;

async function findMember(kind, value) {
  const query = kind === "MEMBER"
    ? `query($v: ID!) { found: member(id: $v) { ${MEMBER} } }`
    : `query($k: IdentifierKind!, $v: String!) { found: memberByIdentifier(kind: $k, value: $v) { ${MEMBER} } }`;
  const body = await gql(query, kind === "MEMBER" ? { v: value } : { k: kind, v: value });
  const error = firstError(body);
  if (error) { show(error); return null; }
  return (body.data || {}).found;
}

async function openMember(id) {
  show("");
  const member = await findMember("MEMBER", id);
  if (member) { renderMember(member); follow(member.id); } else if (member === null) show(`No member ${id}.`);
}

function factsOf(member, record) {
  const txs = member.transactions.edges.map((e) => e.node);
  if (record.source === "TRANSACTIONS") {
    const [how, value] = record.key.split(/:(.*)/s);
    const mine = txs.filter((t) => (how === "loyalty" ? t.loyaltyId : t.email) &&
      String(how === "loyalty" ? t.loyaltyId : t.email).replace(/[-\s]/g, "").toUpperCase() ===
      value.replace(/[-\s]/g, "").toUpperCase());
    const points = mine.reduce((sum, t) => sum + (t.status === "COMPLETED" ? t.pointsEarned - t.pointsRedeemed : 0), 0);
    // Counted over the purchases loaded: say so when the member has more than that.
    const over = member.transactions.totalCount > txs.length ? ` (among the latest ${txs.length})` : "";
    return `${mine.length} purchase(s), ${points} points${over}`;
  }
  if (record.source === "WEB_ANALYTICS") {
    return `${member.webActivity.filter((e) => e.anonymousId === record.key).length} visit event(s)`;
  }
  if (record.source === "CALL_CENTER") {
    const call = member.callCenterInteractions.find((c) => c.interactionId === record.key);
    return call ? `call ${call.startedAt.slice(0, 10)}: ${text(call.reason)}` : "call";
  }
  return "profile";
}

function renderMember(member) {
  state.member = member;
  $("#member-empty").hidden = true;
  $("#member").hidden = false;
  $("#preview").hidden = true;
  const name = [member.profile?.firstName, member.profile?.lastName].filter(Boolean).join(" ");
  $("#member-title").textContent = `${name || "Member"} · ${member.id}`;
  const summary = $("#summary");
  summary.replaceChildren();
  const facts = [
    ["Points balance", member.loyalty?.pointsBalance], ["Tier", member.loyalty?.tier],
    ["Records", member.records.length], ["Purchases", member.transactions.totalCount],
  ];
  if (member.redirectedFrom) facts.push(["Asked for", `${member.redirectedFrom} (merged into this one)`]);
  for (const [term, value] of facts) {
    const dt = document.createElement("dt"); dt.textContent = term;
    const dd = document.createElement("dd"); dd.textContent = text(value);
    summary.append(dt, dd);
  }
  const rows = $("#records tbody");
  rows.replaceChildren();
  for (const record of member.records) {
    const row = document.createElement("tr");
    row.dataset.source = record.source; row.dataset.key = record.key;
    const pick = document.createElement("input");
    pick.type = "checkbox"; pick.className = "pick-record";
    pick.setAttribute("aria-label", `Pick ${record.source} ${record.key}`);
    pick.hidden = !canWrite();
    cell(row, pick, "pick");
    cell(row, record.source); cell(row, record.key); cell(row, factsOf(member, record));
    rows.append(row);
  }
  document.querySelectorAll(".pick").forEach((c) => { c.hidden = !canWrite(); });
  labelCells($("#records"));
  $("#actions").hidden = !canWrite();
  renderHistory(member);
  renderLinks(member);
}

function clearMember() {
  state.member = null;
  if (state.socket) { state.socket.close(1000); state.socket = null; }
  $("#member").hidden = true;
  $("#member-empty").hidden = false;
}

function renderHistory(member) {
  const rows = $("#history tbody");
  rows.replaceChildren();
  for (const event of member.identityHistory) {
    const row = document.createElement("tr");
    row.dataset.event = event.id;
    row.dataset.kind = event.kind;
    cell(row, event.at.replace("T", " ").slice(0, 16)); cell(row, event.kind); cell(row, event.rule);
    cell(row, event.actor); cell(row, event.reason); cell(row, evidence(event.evidence));
    const undone = event.undoneBy ? `undone by event ${event.undoneBy}` : "";
    cell(row, undoable(event) ? button("Undo", () => previewUndo(event), { "aria-label": `Undo event ${event.id}` }) : undone,
      undone && "undone");
    rows.append(row);
  }
  labelCells($("#history"));
}

async function renderLinks(member) {
  const aliases = member.records.map((r, i) =>
    `e${i}: explain(record: {source: ${r.source}, key: ${JSON.stringify(r.key)}}) { a { source key } b { source key } rule evidence actor createdAt }`);
  const body = await gql(`query($id: ID!) { member(id: $id) { ${aliases.join("\n")} } }`, { id: member.id });
  const chains = Object.values(((body.data || {}).member) || {});
  const seen = new Map();
  for (const link of chains.flat().filter(Boolean)) {
    const id = [link.a.source, link.a.key, link.b.source, link.b.key].join("|");
    seen.set(id, link);
  }
  const links = [...seen.values()];
  const rows = $("#links tbody");
  rows.replaceChildren();
  for (const link of links) {
    const row = document.createElement("tr");
    cell(row, `${link.a.source} ${link.a.key}`); cell(row, `${link.b.source} ${link.b.key}`);
    cell(row, link.rule); cell(row, evidence(link.evidence)); cell(row, link.actor);
    cell(row, link.createdAt.replace("T", " ").slice(0, 16));
    rows.append(row);
  }
  labelCells($("#links"));
  drawGraph(member.records, links);
}

function drawGraph(records, links) {
  const svg = $("#graph");
  const ns = "http://www.w3.org/2000/svg";
  svg.querySelectorAll("g").forEach((g) => g.remove());
  const group = document.createElementNS(ns, "g");
  const place = new Map();
  // A ring, narrower where the screen is (labels take ~110 px on each side).
  const across = Math.min(150, Math.max(60, ($("#graph-box").clientWidth - 240) / 2));
  records.forEach((r, i) => {
    const angle = (2 * Math.PI * i) / Math.max(records.length, 1) - Math.PI / 2;
    place.set(`${r.source}|${r.key}`, [400 + across * Math.cos(angle), 180 + 130 * Math.sin(angle)]);
  });
  for (const link of links) {
    const a = place.get(`${link.a.source}|${link.a.key}`), b = place.get(`${link.b.source}|${link.b.key}`);
    if (!a || !b) continue;
    const line = document.createElementNS(ns, "line");
    line.setAttribute("x1", a[0]); line.setAttribute("y1", a[1]);
    line.setAttribute("x2", b[0]); line.setAttribute("y2", b[1]);
    if (link.rule === "manual") line.classList.add("manual");
    const title = document.createElementNS(ns, "title");
    title.textContent = `${link.rule} by ${link.actor} at ${link.createdAt}: ${JSON.stringify(link.evidence)}`;
    line.append(title);
    group.append(line);
  }
  for (const [id, [x, y]] of place) {
    const circle = document.createElementNS(ns, "circle");
    circle.setAttribute("cx", x); circle.setAttribute("cy", y); circle.setAttribute("r", 7);
    const label = document.createElementNS(ns, "text");
    const left = x < 400;  // labels point outward, away from the edges
    label.setAttribute("text-anchor", left ? "end" : "start");
    // Two lines, the source above its key: half as wide, so a phone scrolls less.
    const cut = id.indexOf("|");
    [[id.slice(0, cut), y - 2, "source"], [id.slice(cut + 1), y + 10, "key"]].forEach(([words, at, kind]) => {
      const line = document.createElementNS(ns, "tspan");
      line.setAttribute("x", left ? x - 10 : x + 10); line.setAttribute("y", at);
      line.setAttribute("class", kind);
      line.textContent = words;
      label.append(line);
    });
    group.append(circle, label);
  }
  svg.append(group);
  fitGraph(svg, group);
}

// The drawing's own size (labels included) is the SVG's: a box narrower than it scales it
// down on a wide screen, or scrolls it on a phone, where it opens on its middle.
function fitGraph(svg, group) {
  const box = group.getBBox();
  if (!box.width || !box.height) return;  // not laid out (hidden): the default view stays
  const margin = 12;
  const [x, y, w, h] = [box.x - margin, box.y - margin, box.width + 2 * margin, box.height + 2 * margin];
  svg.setAttribute("viewBox", `${x} ${y} ${w} ${h}`);
  svg.setAttribute("width", Math.ceil(w)); svg.setAttribute("height", Math.ceil(h));
  const scroller = $("#graph-box");
  scroller.scrollLeft = (scroller.scrollWidth - scroller.clientWidth) / 2;
}

// ---------------------------------------------------------------- changes: preview first

const CHANGED = `id records { source key } loyalty { pointsBalance } transactions(first: 1) { totalCount }
  identityHistory { id kind at actor undoable }`;

const picked = () => [...document.querySelectorAll("#records tbody tr")]
  .filter((row) => row.querySelector(".pick-record").checked)
  .map((row) => ({ source: row.dataset.source, key: row.dataset.key }));

// ``current``: the member on screen as it is now; a record moves when the change takes it out
// of it (a split, to a member of its own) or into it (a link).
function memberCard(member, current) {
  const card = document.createElement("div");
  card.className = "member-card";
  const title = document.createElement("h4");
  title.textContent = member.id;
  const balance = document.createElement("p");
  balance.textContent = `${member.records.length} record(s), ${member.transactions.totalCount} purchase(s), ` +
    `balance ${text(member.loyalty?.pointsBalance)}`;
  const list = document.createElement("ul");
  const mine = new Set((current?.records || []).map((r) => `${r.source}|${r.key}`));
  for (const r of member.records) {
    const item = document.createElement("li");
    item.textContent = `${r.source} ${r.key}`;
    const held = mine.has(`${r.source}|${r.key}`);
    if (current && (member.id === current.id ? !held : held)) {
      item.className = "moves"; item.textContent += " (moves here)";
    }
    list.append(item);
  }
  card.append(title, balance, list);
  return card;
}

async function preview(kind, describe, mutation, variables) {
  show("");
  $("#result").hidden = true;
  const body = await gql(mutation(true, CHANGED), { ...variables, reason: "preview" });
  const error = firstError(body);
  if (error) { show(error); return; }
  const after = Object.values(body.data)[0];
  state.pending = { kind, mutation, variables };
  $("#preview-title").textContent = `Preview: ${kind}`;
  $("#preview-what").textContent = `${describe}. Nothing has changed yet: the members below are as the change would leave them.`;
  const cards = $("#preview-members");
  cards.replaceChildren(...after.map((m) => memberCard(m, state.member)));
  $("#preview").hidden = false;
  $("#reason").value = "";
  $("#reason").focus();
}

async function confirmChange() {
  const reason = $("#reason").value.trim();
  if (!reason) { show("Say why: the reason is kept in the members' history."); $("#reason").focus(); return; }
  const { kind, mutation, variables } = state.pending;
  const body = await gql(mutation(false, CHANGED), { ...variables, reason });
  const error = firstError(body);
  if (error) { show(error); return; }
  const after = Object.values(body.data)[0];
  $("#preview").hidden = true;
  const mine = after.flatMap((m) => m.identityHistory).filter((e) => e.actor === state.viewer.name);
  const event = mine.sort((a, b) => Number(b.id) - Number(a.id))[0];
  state.undo = { kind, event, members: after };
  $("#result-what").textContent = `${kind} done` + (event ? `: event ${event.id} (${event.kind})` : "") + ".";
  $("#result-members").replaceChildren(...after.map((m) => memberCard(m, null)));
  $("#undo").hidden = !undoable(event);
  $("#result").hidden = false;
  const stay = after.find((m) => m.id === state.member.id) || after[0];
  await openMember(stay.id);
  $("#result").hidden = false;
}

const SPLIT = (dry, fields) => `mutation($id: ID!, $records: [RecordRefInput!]!, $reason: String!) {
  splitMember(memberId: $id, records: $records, reason: $reason, dryRun: ${dry}) { ${fields} } }`;
const LINK = (dry, fields) => `mutation($a: RecordRefInput!, $b: RecordRefInput!, $reason: String!, $move: Boolean!) {
  linkRecords(a: $a, b: $b, reason: $reason, move: $move, dryRun: ${dry}) { ${fields} } }`;
const UNDO_ANY = (dry, fields) => `mutation($event: ID!, $reason: String!) {
  undo(eventId: $event, reason: $reason, dryRun: ${dry}) { ${fields} } }`;

function previewSplit() {
  const records = picked();
  if (!records.length) { show("Pick the records that leave this member first."); return; }
  preview("split", `${records.length} picked record(s) and the rest of ${state.member.id} become two members (the ID stays with the side it belongs to)`,
    SPLIT, { id: state.member.id, records });
}

async function previewLink(event) {
  event.preventDefault();
  const other = { source: $("#link-source").value, key: $("#link-key").value.trim() };
  const mine = state.member.records[0];
  const variables = { a: mine, b: other, move: false };
  const body = await gql(LINK(true, "id"), { ...variables, reason: "preview" });
  if ((body.errors || []).some((e) => (e.extensions || {}).code === "WOULD_MOVE_RECORDS")) {
    if (!confirm(`${firstError(body)}\n\nPreview moving the record anyway?`)) return;
    variables.move = true;
  }
  preview("link", `${other.source} ${other.key} joins ${state.member.id}`, LINK, variables);
}

function previewUndo(event) {
  preview("undo", `Undo event ${event.id} (${event.kind} by ${event.actor})`, UNDO_ANY,
    { event: event.id });
}

function undoLast() {
  const { event } = state.undo || {};
  if (!event) return;
  previewUndo(event);
}

// ---------------------------------------------------------------- review queues

let conflicts = [];

async function loadConflicts() {
  const body = await gql(`{ identityConflicts(first: 100) { totalCount edges { node {
    id kind rule at actor evidence records { source key } } } } }`);
  const error = firstError(body);
  if (error) { show(error); return; }
  const found = body.data.identityConflicts;
  conflicts = found.edges.map((e) => e.node);
  $("#conflict-count").textContent = `${found.totalCount} conflict(s)`;
  renderConflicts();
}

const LOOKUP = { CRM: "CRM_ID", WEB_ANALYTICS: "ANONYMOUS_ID" };

function lookupOf(record) {
  if (LOOKUP[record.source]) return [LOOKUP[record.source], record.key];
  if (record.source === "TRANSACTIONS") {
    const [how, value] = record.key.split(/:(.*)/s);
    return [how === "loyalty" ? "LOYALTY_ID" : "EMAIL", value];
  }
  return null;
}

async function openRecord(records) {
  const found = records.map(lookupOf).find(Boolean);
  if (!found) { show("None of these records can be looked up by an identifier."); return; }
  select("member");
  const member = await findMember(...found);
  if (member) { renderMember(member); follow(member.id); }
}

function renderConflicts() {
  const order = $("#conflict-sort").value;
  const sorted = [...conflicts].sort((a, b) =>
    order === "kind" ? (a.rule || a.kind).localeCompare(b.rule || b.kind) :
    order === "old" ? a.at.localeCompare(b.at) : b.at.localeCompare(a.at));
  const rows = $("#conflicts tbody");
  rows.replaceChildren();
  for (const c of sorted) {
    const row = document.createElement("tr");
    cell(row, c.at.replace("T", " ").slice(0, 16)); cell(row, c.rule || c.kind);
    cell(row, c.records.map((r) => `${r.source} ${r.key}`).join(", "));
    cell(row, evidence(c.evidence));
    cell(row, button("Open", () => openRecord(c.records), { "aria-label": `Open conflict ${c.id}` }));
    rows.append(row);
  }
  labelCells($("#conflicts"));
}

let suggestions = [];
const pairOf = (s) => [s.a.source, s.a.key, s.b.source, s.b.key].join("|");

async function loadSuggestions() {
  const body = await gql(`{ matchSuggestions(first: 50) { totalCount edges { node {
    a { source key } b { source key } memberIds score since
    evidence { field level weight a b } } } } }`);
  if (firstError(body)) { show(firstError(body)); return; }
  suggestions = body.data.matchSuggestions.edges.map((e) => e.node);
  renderSuggestions();
}

function renderSuggestions() {
  const order = $("#suggestion-sort").value;
  const by = {
    score: (a, b) => b.score - a.score,
    low: (a, b) => a.score - b.score,
    old: (a, b) => a.since.localeCompare(b.since) || b.score - a.score,
    new: (a, b) => b.since.localeCompare(a.since) || b.score - a.score,
  };
  const sorted = [...suggestions].sort(by[order] || by.score);
  const box = $("#suggestions");
  box.replaceChildren();
  if (!sorted.length) box.textContent = "No suggestions to review.";
  for (const s of sorted) {
    const card = document.createElement("article");
    card.className = "suggestion";
    card.dataset.pair = pairOf(s);
    const title = document.createElement("h3");
    title.textContent = `${s.a.source} ${s.a.key} ↔ ${s.b.source} ${s.b.key} · score ${s.score.toFixed(2)}`
      + ` · waiting since ${s.since.replace("T", " ").slice(0, 16)}`;
    const table = document.createElement("table");
    table.className = "side-by-side";
    const head = document.createElement("tr");
    for (const label of ["Field", s.a.key, s.b.key, "Agreement", "Weight"]) {
      const th = document.createElement("th"); th.scope = "col"; th.textContent = label; head.append(th);
    }
    table.append(head);
    for (const f of s.evidence) {
      const row = document.createElement("tr");
      cell(row, f.field); cell(row, f.a); cell(row, f.b); cell(row, f.level);
      cell(row, f.weight.toFixed(1));
      table.append(row);
    }
    card.append(title, table);
    if (canWrite()) {
      const buttons = document.createElement("div");
      buttons.className = "buttons";
      const name = `${s.a.key} and ${s.b.key}`;
      buttons.append(
        button("Accept", () => acceptSuggestion(s), { "aria-label": `Accept: ${name} are one person` }),
        button("Reject", () => rejectSuggestion(s), { "aria-label": `Reject: ${name} are two people` }),
        button("Skip", () => card.remove(), { "aria-label": `Skip ${name}` }));
      card.append(buttons);
    }
    box.append(card);
  }
}

const ACCEPT = (dry, fields) => `mutation($a: RecordRefInput!, $b: RecordRefInput!, $reason: String!) {
  acceptSuggestion(a: $a, b: $b, reason: $reason, dryRun: ${dry}) { ${fields} } }`;

async function acceptSuggestion(suggestion) {
  // The dry run first, on the member view: the members as the merge would leave them.
  select("member");
  await openMember(suggestion.memberIds[0]);
  preview("accept suggestion", `${suggestion.a.source} ${suggestion.a.key} and ${suggestion.b.source} ${suggestion.b.key} become one member`,
    ACCEPT, { a: suggestion.a, b: suggestion.b });
}

async function rejectSuggestion(suggestion) {
  const reason = prompt("Why are they two people? (kept in the history)");
  if (!reason) return;
  const body = await gql(`mutation($a: RecordRefInput!, $b: RecordRefInput!, $reason: String!) {
    rejectSuggestion(a: $a, b: $b, reason: $reason) { id } }`, { a: suggestion.a, b: suggestion.b, reason });
  const error = firstError(body);
  if (error) { show(error); return; }
  suggestions = suggestions.filter((s) => pairOf(s) !== pairOf(suggestion));
  renderSuggestions();
}

// ---------------------------------------------------------------- live: memberChanged

function follow(memberId) {
  if (state.socket) state.socket.close(1000);
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
  const socket = new WebSocket(url, "graphql-transport-ws");
  state.socket = socket;
  socket.onopen = () => {
    const key = sessionStorage.getItem("membergraph-key");
    socket.send(JSON.stringify({ type: "connection_init", payload: key ? { Authorization: `Bearer ${key}` } : {} }));
  };
  socket.onmessage = async (message) => {
    const data = JSON.parse(message.data);
    if (data.type === "connection_ack") {
      socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: {
        query: `subscription($id: ID!) { memberChanged(id: $id) { kind actor at memberIds } }`,
        variables: { id: memberId } } }));
    } else if (data.type === "next" && data.payload.data) {
      const change = data.payload.data.memberChanged;
      if (!state.member || state.socket !== socket) return;
      const live = $("#live");
      live.textContent = `Changed just now: ${change.kind} by ${change.actor}. Showing it as it is now.`;
      live.hidden = false;
      const current = await findMember("MEMBER", state.member.id);
      if (current) renderMember(current);
    }
  };
}

// ---------------------------------------------------------------- views and start

function select(view) {
  for (const name of ["member", "conflicts", "suggestions"]) {
    $(`#${name}-view`).hidden = name !== view;
    $(`#tab-${name}`).setAttribute("aria-pressed", String(name === view));
  }
  if (view === "conflicts") loadConflicts();
  if (view === "suggestions") loadSuggestions();
}

async function start() {
  await loadViewer();
  // Suggestions exist when the gateway serves them: ask once.
  const probe = await gql("{ matchSuggestions(first: 1) { totalCount } }");
  $("#tab-suggestions").hidden = !!firstError(probe) && (probe.errors || []).some(
    (e) => (e.extensions || {}).code === "GRAPHQL_VALIDATION_FAILED");
  $("#find").addEventListener("submit", async (event) => {
    event.preventDefault();
    select("member");
    show("");
    const member = await findMember($("#kind").value, $("#value").value);
    if (member) { renderMember(member); follow(member.id); return; }
    clearMember();  // the member found before must not pass for this search's answer
    if (member === null && !$("#message").textContent) show("No member has this identifier.");
  });
  $("#preview-split").addEventListener("click", previewSplit);
  $("#link").addEventListener("submit", previewLink);
  $("#confirm").addEventListener("click", confirmChange);
  $("#cancel").addEventListener("click", () => { $("#preview").hidden = true; state.pending = null; });
  $("#undo").addEventListener("click", undoLast);
  $("#conflict-sort").addEventListener("change", renderConflicts);
  $("#suggestion-sort").addEventListener("change", renderSuggestions);
  for (const name of ["member", "conflicts", "suggestions"]) {
    $(`#tab-${name}`).addEventListener("click", () => select(name));
  }
  const asked = new URLSearchParams(location.search).get("member");
  if (asked) await openMember(asked);
  document.body.dataset.ready = "true";
}

start();
