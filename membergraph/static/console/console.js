// The steward console: a client of the public GraphQL API, like any other. This module is the
// member view (a member whole, changes previewed then made) and the start; lib.js the shared
// helpers, member.js a member read and its records' facts, refusals.js a link's refusals said
// in words, graph.js the link graph, queues.js the review queues, live.js the member followed
// live. No request leaves for another host.

import {
  $, button, canWrite, cell, evidence, firstError, gql, labelCells, show, state, text, undoable,
  when,
} from "./lib.js";
import { drawGraph } from "./graph.js";
import { feedHead, follow, news, stopFollowing, useRefresh } from "./live.js";
import { factsOf, findMember } from "./member.js";
import {
  loadConflicts, loadSuggestions, moreConflicts, moreSuggestions, useHooks,
} from "./queues.js";
import { refusalsOf } from "./refusals.js";

// ---------------------------------------------------------------- who is asking

async function loadViewer() {
  const body = await gql("{ viewer { name scopes memberId } }");
  state.viewer = (body.data || {}).viewer || { name: "?", scopes: [] };
  const can = state.viewer.scopes;
  const acts = can.includes("identity:write");
  // Without profile:read every search is refused: the line says what the key can do instead.
  const may = !can.includes("profile:read")
    ? "may not look members up (the key lacks profile:read)" + (acts
      ? "; may review the queues"
      : can.includes("analytics:read") ? "; may read the conflicts queue" : "; nothing here is open to it")
    : (acts ? "may review and fix identity" : "may look, not change") +
      (can.includes("pii:read") ? "" : "; personal data masked");
  $("#viewer").textContent = `Signed in as ${state.viewer.name}: ${may}`;
  // The conflicts queue is the stewards' and the analysts' (never a token bound to a member).
  $("#tab-conflicts").hidden = !!state.viewer.memberId ||
    !(can.includes("identity:write") || can.includes("analytics:read"));
}

// ---------------------------------------------------------------- a member, whole

async function openMember(id) {
  show("");
  const cursor = await feedHead();  // before the read: following from it misses nothing
  const member = await findMember("MEMBER", id);
  if (member) { renderMember(member); follow(member.id, cursor); } else if (member === null) show(`No member ${id}.`);
}

function renderMember(member) {
  if (state.member?.id !== member.id) { $("#preview").hidden = true; state.pending = null; }
  state.member = member;
  $("#member-empty").hidden = true;
  $("#member").hidden = false;
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
  renderIdentifiers(member);
  $("#actions").hidden = !canWrite();
  renderHistory(member);
  renderLinks(member);
}

// The member's identifiers exactly as the API answers them for this key (masked without
// pii:read), each with the records that carry it.
function renderIdentifiers(member) {
  const rows = $("#identifiers tbody");
  rows.replaceChildren();
  for (const id of member.identifiers) {
    const row = document.createElement("tr");
    cell(row, id.kind); cell(row, id.value);
    cell(row, id.records.map((r) => `${r.source} ${r.key}`).join(", "));
    rows.append(row);
  }
  labelCells($("#identifiers"));
}

function clearMember() {
  state.member = null;
  stopFollowing();
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
    cell(row, when(event.at)); cell(row, event.kind); cell(row, event.rule);
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
    cell(row, when(link.createdAt));
    rows.append(row);
  }
  labelCells($("#links"));
  drawGraph(member.records, links);
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

// The dry run, shown; nothing changes until Confirm. ``again``: the member changed while the
// preview was open (live): the dry run is made again, the reason typed so far kept.
async function preview(kind, describe, mutation, variables, again = false) {
  if (!again) { show(""); $("#result").hidden = true; }
  const pending = again ? state.pending : { kind, describe, mutation, variables, opener: document.activeElement };
  state.pending = pending;
  const body = await gql(mutation(true, CHANGED), { ...variables, reason: "preview" });
  if (state.pending !== pending) return;  // confirmed or cancelled meanwhile
  const error = firstError(body);
  if (error) { show(error); return; }
  const after = Object.values(body.data)[0];
  $("#preview-title").textContent = `Preview: ${kind}`;
  $("#preview-what").textContent = `${describe}. Nothing has changed yet: the members below are as the change would leave them.`;
  $("#preview-members").replaceChildren(...after.map((m) => memberCard(m, state.member)));
  $("#preview").hidden = false;
  if (!again) { $("#reason").value = ""; $("#reason").focus(); }
}

function closePreview() {
  const { opener } = state.pending || {};
  $("#preview").hidden = true;
  state.pending = null;
  if (opener && opener.isConnected && !opener.hidden) opener.focus();
}

async function confirmChange() {
  const reason = $("#reason").value.trim();
  if (!reason) { show("Say why: the reason is kept in the members' history."); $("#reason").focus(); return; }
  const pending = state.pending;
  const { kind, mutation, variables } = pending;
  const since = newestEvent(state.member.identityHistory, () => true);
  checks += 1;  // sent again: what this answers is said, not an earlier Confirm's check
  const body = await gql(mutation(false, CHANGED), { ...variables, reason });
  const error = firstError(body);
  if (body.unanswered) { findOutcome(pending, error, since); return; }
  if (error) { show(error); return; }
  if (state.pending === pending) state.pending = null;
  const after = Object.values(body.data)[0];
  const mine = after.flatMap((m) => m.identityHistory).filter((e) => e.actor === state.viewer.name);
  await showDone(kind, `${kind} done`, newestEvent(mine, () => true), after);
}

const newestEvent = (events, keep) =>
  events.filter(keep).sort((a, b) => Number(b.id) - Number(a.id))[0];

// The change made, its event and the members it answered, with an Undo; the member on
// screen read anew.
async function showDone(kind, said, event, after) {
  $("#preview").hidden = true;
  state.undo = { kind, event, members: after };
  $("#result-what").textContent = said + (event ? `: event ${event.id} (${event.kind})` : "") + ".";
  $("#result-members").replaceChildren(...after.map((m) => memberCard(m, null)));
  $("#undo").hidden = !undoable(event);
  const stay = after.find((m) => m.id === state.member.id) || after[0];
  await openMember(stay.id);
  // The keyboard follows the eye: to the result, whose Undo is the next stop.
  $("#result").hidden = false;
  $("#result").focus();
}

// A Confirm that got no answer (the gateway down or restarting, a proxy's error page, the
// connection lost on the way back) may or may not have made the change. The page says so, then
// asks the gateway until it answers and reads the member's history: an event of this steward
// newer than ``since`` (the newest the member showed before Confirm) is the change, made;
// none, and nothing was made: the preview stays, and Confirm sends it again (a change sent
// twice is made once: the API answers the members as they are).
let checks = 0;  // only the latest Confirm's check speaks
const OUTCOME = `query($v: ID!) { member(id: $v) { ${CHANGED} } }`;
function findOutcome(pending, error, since) {
  const { kind } = pending;
  const memberId = state.member.id;
  const check = ++checks;
  show(`${error.replace(/: try again$/, "")}. The ${kind} may or may not have been made: ` +
    "this page asks the gateway again until it answers, then says which.");
  const ask = async (wait) => {
    if (check !== checks) return;
    const body = await gql(OUTCOME, { v: memberId });
    if (check !== checks) return;
    if (body.unanswered) { setTimeout(() => ask(Math.min(2 * wait, 5000)), wait); return; }
    const member = body.data?.member;
    if (!member) {  // refused, or gone (erased): nothing to tell it by
      show(`The ${kind} may or may not have been made, and ${memberId} cannot be read now ` +
        `(${firstError(body) || "no such member"}): look it up again before sending it again.`);
      return;
    }
    const event = newestEvent(member.identityHistory,
      (e) => e.actor === state.viewer.name && Number(e.id) > Number(since?.id ?? 0));
    if (!event) {
      show(`The ${kind} was not made: the gateway answers again and nothing of it is in ` +
        `${member.id}'s history. Confirm sends it again.`);
      return;
    }
    if (state.pending === pending) state.pending = null;
    show("");
    await showDone(kind, `${kind} made after all (the answer to Confirm was lost)`, event, [member]);
  };
  setTimeout(() => ask(1000), 1000);
}

const SPLIT = (dry, fields) => `mutation($id: ID!, $records: [RecordRefInput!]!, $reason: String!) {
  splitMember(memberId: $id, records: $records, reason: $reason, dryRun: ${dry}) { ${fields} } }`;
const LINK = (dry, fields) => `mutation($a: RecordRefInput!, $b: RecordRefInput!, $reason: String!, $move: Boolean!,
  $liftRejection: Boolean!) { linkRecords(a: $a, b: $b, reason: $reason, move: $move,
  liftRejection: $liftRejection, dryRun: ${dry}) { ${fields} } }`;
const UNDO_ANY = (dry, fields) => `mutation($event: ID!, $reason: String!) {
  undo(eventId: $event, reason: $reason, dryRun: ${dry}) { ${fields} } }`;

function previewSplit() {
  const records = picked();
  if (!records.length) { show("Pick the records that leave this member first."); return; }
  preview("split", `${records.length} picked record(s) and the rest of ${state.member.id} become two members (the ID stays with the side holding the person's contact)`,
    SPLIT, { id: state.member.id, records });
}

// A link the API refuses until told (records that move, a steward's rejection lifted) is
// previewed as told, said in words (refusals.js): Confirm sends what the preview says.
async function previewLink(event) {
  event.preventDefault();
  const other = { source: $("#link-source").value, key: $("#link-key").value.trim() };
  const mine = state.member.records[0];
  const variables = { a: mine, b: other, move: false, liftRejection: false };
  const said = await refusalsOf(LINK, variables);
  preview("link", `${other.source} ${other.key} joins ${state.member.id}${said.map((s) => `, and ${s}`).join("")}`,
    LINK, variables);
}

function previewUndo(event) {
  preview("undo", `Undo event ${event.id} (${event.kind} by ${event.actor})`, UNDO_ANY,
    { event: event.id });
}

function undoLast() {
  const { event } = state.undo || {};
  if (event) previewUndo(event);
}

// ---------------------------------------------------------------- live: memberChanged

// The member on screen as it is now: the records picked stay picked, and an open preview is
// made again, so that what Confirm does is what the preview shows. The banner names every
// change heard (``news``), again once the member is read (a tier's name is in it then).
let refreshes = 0;  // only the latest refresh rewrites the banner
async function refresh(lead, changes) {
  const mine = ++refreshes;
  const live = $("#live");
  live.textContent = `${news(lead, changes, null)} Showing it as it is now.`;
  live.hidden = false;
  const picks = new Set(picked().map((r) => `${r.source}|${r.key}`));
  const current = await findMember("MEMBER", state.member.id);
  if (!current) return;
  renderMember(current);
  if (mine === refreshes) live.textContent = `${news(lead, changes, current)} Showing it as it is now.`;
  for (const row of document.querySelectorAll("#records tbody tr")) {
    row.querySelector(".pick-record").checked = picks.has(`${row.dataset.source}|${row.dataset.key}`);
  }
  const pending = state.pending;
  if (pending && !$("#preview").hidden) {
    preview(pending.kind, pending.describe, pending.mutation, pending.variables, true);
  }
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
  useHooks({ select, open: openMember, preview });
  useRefresh(refresh);
  await loadViewer();
  // The queue of suggestions is there when the gateway serves it to this key: ask once.
  const probe = await gql("{ matchSuggestions(first: 1) { totalCount } }");
  $("#tab-suggestions").hidden = !!firstError(probe);
  $("#find").addEventListener("submit", async (event) => {
    event.preventDefault();
    select("member");
    show("");
    const cursor = await feedHead();
    const member = await findMember($("#kind").value, $("#value").value);
    if (member) { renderMember(member); follow(member.id, cursor); return; }
    clearMember();  // the member found before must not pass for this search's answer
    if (member === null && !$("#message").textContent) show("No member has this identifier.");
  });
  $("#preview-split").addEventListener("click", previewSplit);
  $("#link").addEventListener("submit", previewLink);
  $("#confirm").addEventListener("click", confirmChange);
  $("#cancel").addEventListener("click", closePreview);
  $("#undo").addEventListener("click", undoLast);
  $("#conflict-sort").addEventListener("change", loadConflicts);
  $("#conflict-kind").addEventListener("change", loadConflicts);
  $("#suggestion-sort").addEventListener("change", loadSuggestions);
  $("#suggestion-more").addEventListener("click", moreSuggestions);
  $("#conflict-more").addEventListener("click", moreConflicts);
  for (const name of ["member", "conflicts", "suggestions"]) {
    $(`#tab-${name}`).addEventListener("click", () => select(name));
  }
  const asked = new URLSearchParams(location.search).get("member");
  if (asked) await openMember(asked);
  document.body.dataset.ready = "true";
}

start();
