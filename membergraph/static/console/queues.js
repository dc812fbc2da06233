// The review queues: identity conflicts and match suggestions, each with its evidence side by
// side per field, accepted, rejected or skipped. The member view acts on them: ``hooks`` are
// its select (a view), open (a member, by ID) and preview (a dry run, then confirm: the
// result, its event id and its Undo show there).

import {
  $, button, canWrite, cell, firstError, gql, lookupOf, scoreText, show, text, when,
} from "./lib.js";
import { refusalsOf } from "./refusals.js";

let hooks = null;
export const useHooks = (given) => { hooks = given; };

const sameRecord = (a, b) => a.source === b.source && a.key === b.key;
const recordName = (r) => `${r.source} ${r.key}`;

function sideBySide(headings, rows) {
  const table = document.createElement("table");
  table.className = "side-by-side";
  const head = document.createElement("tr");
  for (const label of headings) {
    const th = document.createElement("th"); th.scope = "col"; th.textContent = label; head.append(th);
  }
  const thead = document.createElement("thead");
  thead.append(head);
  const tbody = document.createElement("tbody");
  for (const values of rows) {
    const row = document.createElement("tr");
    const th = document.createElement("th"); th.scope = "row"; th.textContent = values[0];
    row.append(th);
    values.slice(1).forEach((value) => cell(row, value));
    tbody.append(row);
  }
  table.append(thead, tbody);
  return table;
}

// After a card leaves the queue (skipped, rejected), the keyboard goes on with the next one.
function focusAfter(card, queue) {
  const next = card.nextElementSibling || card.previousElementSibling;
  card.remove();
  const target = next?.querySelector("button") || queue;
  target.focus();
}

// ---------------------------------------------------------------- identity conflicts

let conflicts = [];
let sides = new Map();  // "KIND|value" of a record's identifier: the member it finds

const SIDE = `id profile { firstName lastName } records { source key }
  identifiers { kind value records { source key } }`;

// The queues are ordered by the API over all their entries, then paged: an order applied
// here would order only the page loaded (the newest 100 sorted "oldest first").
const SHOWN = { conflicts: 100, suggestions: 50 };
const ORDERS = {
  conflicts: { new: "NEWEST", old: "OLDEST" },
  suggestions: { score: "BEST", low: "WORST", old: "OLDEST", new: "NEWEST" },
};
// "126 suggestion(s), 50 shown": those on the page now (skipped or decided ones leave it).
const counted = (total, shown, what) =>
  `${total} ${what}(s)` + (total > shown ? `, ${shown} shown` : "");
let conflictLoads = 0;  // loads started: only the latest one's answer is shown
let conflictCursor = null;  // the last conflict read: the next page reads on after it

export const loadConflicts = () => readConflicts(false);
export const moreConflicts = () => readConflicts(true);

// The queue's first page, or (``more``) the page after the last conflict read, added below
// (the conflicts past the first 100 were out of reach).
async function readConflicts(more) {
  const load = ++conflictLoads;
  const kind = $("#conflict-kind").value;
  const order = ORDERS.conflicts[$("#conflict-sort").value] || "NEWEST";
  const body = await gql(`query($filter: ConflictFilter, $after: String) {
    identityConflicts(first: ${SHOWN.conflicts}, filter: $filter, orderBy: ${order}, after: $after) {
    totalCount pageInfo { endCursor hasNextPage }
    edges { node { id kind rule at actor evidence records { source key } } } } }`,
  { filter: kind ? { kind } : null, after: more ? conflictCursor : null });
  if (load !== conflictLoads) return;
  const error = firstError(body);
  if (error) { show(error); return; }
  const found = body.data.identityConflicts;
  const shown = new Set(more ? conflicts.map((c) => c.id) : []);
  const listed = found.edges.map((e) => e.node).filter((c) => !shown.has(c.id));
  const members = await membersOf(listed.flatMap((c) => c.records));
  if (load !== conflictLoads) return;
  const first = more ? conflicts.length : 0;
  conflicts = [...(more ? conflicts : []), ...listed];
  sides = more ? new Map([...sides, ...members]) : members;
  conflictCursor = found.pageInfo.endCursor || conflictCursor;
  $("#conflict-more").hidden = !found.pageInfo.hasNextPage;
  $("#conflict-count").textContent = counted(found.totalCount, conflicts.length, "conflict");
  renderConflicts();
  // The keyboard goes on with the first conflict added
  if (more) $("#conflicts").children[first]?.querySelector("button")?.focus();
}

// The members the conflicts' records are on now, a look-up an alias, in requests of at most
// ALIASES (the gateway refuses a request of more than 30 aliases whole: past it, every
// conflict showed no member). A look-up the API refuses (a masked e-mail) finds nobody, and
// the others still answer.
const ALIASES = 25;

async function membersOf(records) {
  const asks = new Map(records.map(lookupOf).filter(Boolean).map((l) => [l.join("|"), l]));
  const ids = [...asks.keys()];
  const batches = [];
  for (let i = 0; i < ids.length; i += ALIASES) batches.push(ids.slice(i, i + ALIASES));
  const found = await Promise.all(batches.map(async (batch) => {
    const params = batch.map((_, i) => `$v${i}: String!`).join(", ");
    const fields = batch.map((id, i) =>
      `m${i}: memberByIdentifier(kind: ${asks.get(id)[0]}, value: $v${i}) { ${SIDE} }`).join("\n");
    const variables = Object.fromEntries(batch.map((id, i) => [`v${i}`, asks.get(id)[1]]));
    const body = await gql(`query(${params}) { ${fields} }`, variables);
    if (!body.data) show(firstError(body));
    const data = body.data || {};
    return batch.map((id, i) => [id, data[`m${i}`] || null]);
  }));
  return new Map(found.flat());
}

// The member a record is on: the one its identifier finds, if that member holds it (a login
// record may be apart from its contact), else any member found that holds it (a call).
function memberOf(record) {
  const lookup = lookupOf(record);
  const first = lookup && sides.get(lookup.join("|"));
  const holds = (m) => m && m.records.some((r) => sameRecord(r, record));
  return holds(first) ? first : [...sides.values()].find(holds) || null;
}

const KINDS = ["CRM_ID", "LOYALTY_ID", "EMAIL", "PHONE", "ANONYMOUS_ID"];
const VIA = { agent: "typed by the agent", switch: "the caller's phone", login: "logged in as" };

// Side by side, a column per record of the conflict: the member it is on now, then per kind
// of identifier the values it carries. The record the evidence is about (a call, a visitor)
// shows what it says and who said it; a value elsewhere that agrees with it is marked.
function conflictTable(conflict) {
  const said = Array.isArray(conflict.evidence?.evidence) ? conflict.evidence.evidence : [];
  const leaf = said.length
    ? conflict.records.find((r) => r.source === "CALL_CENTER" || r.source === "WEB_ANALYTICS") : null;
  const columns = conflict.records.map((record) => {
    const member = memberOf(record);
    const values = {};
    for (const id of member?.identifiers || []) {
      if (id.records.some((r) => sameRecord(r, record))) (values[id.kind] ||= new Set()).add(id.value);
    }
    if (leaf && sameRecord(record, leaf)) {
      for (const s of said) {
        const held = (values[s.kind] ||= new Set());
        held.delete(s.value);  // said by someone: shown with who said it
        held.add(`${s.value} (${VIA[s.via] || s.via})`);
      }
    }
    return { record, member, values };
  });
  const agrees = (kind, value) => said.some((s) => s.kind === kind && s.value === value);
  const rows = KINDS.filter((kind) => columns.some((c) => c.values[kind])).map((kind) => [kind,
    ...columns.map((c) => [...(c.values[kind] || [])].map((v) =>
      (c.record !== leaf && agrees(kind, v) ? `${v} ✓ as the evidence says` : v)).join(", ") || "—")]);
  const table = sideBySide(["Field", ...conflict.records.map(recordName)], rows);
  const memberRow = document.createElement("tr");
  const th = document.createElement("th"); th.scope = "row"; th.textContent = "Member now";
  memberRow.append(th);
  for (const { member } of columns) {
    if (!member) { cell(memberRow, "—"); continue; }
    const name = [member.profile?.firstName, member.profile?.lastName].filter(Boolean).join(" ");
    const box = document.createElement("span");
    box.append(`${name ? `${name} · ` : ""}${member.id} `,
      button("Open", () => { hooks.select("member"); hooks.open(member.id); },
        { "aria-label": `Open member ${member.id}` }));
    cell(memberRow, box);
  }
  table.tBodies[0].prepend(memberRow);
  return table;
}

// One fact of a conflict's evidence as words ("values C-ANN, C-BOB"), not as JSON: read on a
// phone, and wrapped there like any other line.
function fact([name, value]) {
  const shown = Array.isArray(value) ? value.map(text).join(", ")
    : value !== null && typeof value === "object" ? JSON.stringify(value) : text(value);
  return `${name} ${shown}`;
}

function renderConflicts() {
  const box = $("#conflicts");
  box.replaceChildren();
  if (!conflicts.length) box.textContent = "No conflicts to review.";
  for (const c of conflicts) {
    const card = document.createElement("article");
    card.className = "conflict";
    card.dataset.conflict = c.id;
    const title = document.createElement("h3");
    title.textContent = `${c.rule || c.kind} · ${when(c.at)} · by ${c.actor}`;
    const { evidence: said, decision, ...rest } = c.evidence || {};
    const detail = document.createElement("p");
    detail.className = "decision";
    detail.textContent = [`Decision: ${text(decision)}`, ...Object.entries(rest).map(fact)].join(" · ");
    card.append(title, conflictTable(c), detail);
    if (canWrite()) {
      const buttons = document.createElement("div");
      buttons.className = "buttons";
      buttons.append(
        button("Accept", () => decide(c, "LINK"), { "aria-label": `Accept conflict ${c.id}: make the link` }),
        button("Reject", () => decide(c, "DISMISS"), { "aria-label": `Reject conflict ${c.id}: the rules were right` }),
        button("Skip", () => focusAfter(card, box), { "aria-label": `Skip conflict ${c.id}` }));
      card.append(buttons);
    }
    box.append(card);
  }
}

const LEAVES = ["CALL_CENTER", "WEB_ANALYTICS"];
const RESOLVE = (decision) => (dry, fields) => `mutation($id: ID!, $reason: String!) {
  resolveConflict(eventId: $id, decision: ${decision}, reason: $reason, dryRun: ${dry}) { ${fields} } }`;

// What accepting a conflict does, in words: a call or a visitor goes to the member of the one
// record it is not on now (as the API decides), two profile records become one member.
function linkWords(conflict) {
  const leaf = conflict.records.find((r) => LEAVES.includes(r.source));
  if (!leaf) return `${conflict.records.map(recordName).join(" and ")} become one member`;
  const here = memberOf(leaf)?.id;
  const there = conflict.records.filter((r) => r !== leaf && memberOf(r)?.id !== here);
  const to = there.length === 1 ? `the member of ${recordName(there[0])}` : "the record you name";
  return `${recordName(leaf)} leaves its member alone and joins ${to}`;
}

async function decide(conflict, decision) {
  // The dry run first, on the member view: the members as the decision would leave them.
  const leaf = conflict.records.find((r) => LEAVES.includes(r.source)) || conflict.records[0];
  const member = memberOf(leaf) || conflict.records.map(memberOf).find(Boolean);
  hooks.select("member");
  if (member) await hooks.open(member.id);
  const kind = `${decision === "LINK" ? "accept" : "reject"} conflict ${conflict.id}`;
  const describe = decision === "LINK" ? linkWords(conflict)
    : "Nothing moves: the rules' decision stands and the conflict leaves the queue";
  hooks.preview(kind, describe, RESOLVE(decision), { id: conflict.id });
}

// ---------------------------------------------------------------- match suggestions

let suggestions = [];
let suggestionLoads = 0;  // loads started: only the latest one's answer is shown
let suggestionTotal = 0;  // the queue's whole length (totalCount)
let suggestionCursor = null;  // the last pair read: the next page reads on after it
let suggestionsLeft = false;  // pairs past the last one read
const pairOf = (s) => [s.a.source, s.a.key, s.b.source, s.b.key].join("|");
const suggestionCount = () => counted(suggestionTotal, suggestions.length, "suggestion");

export const loadSuggestions = () => readSuggestions(false);
export const moreSuggestions = () => readSuggestions(true);

// The queue's first page, or (``more``) the page after the last pair read, added below.
async function readSuggestions(more) {
  const load = ++suggestionLoads;
  const order = ORDERS.suggestions[$("#suggestion-sort").value] || "BEST";
  const body = await gql(`query($after: String) {
    matchSuggestions(first: ${SHOWN.suggestions}, after: $after, orderBy: ${order}) {
    totalCount pageInfo { endCursor hasNextPage } edges { node { a { source key }
    b { source key } memberIds score since evidence { field level weight a b } } } } }`,
  { after: more ? suggestionCursor : null });
  // A newer load, or a decision made while this one was on its way, has the list: this
  // answer would bring back a pair the steward just rejected.
  if (load !== suggestionLoads) return;
  if (firstError(body)) { show(firstError(body)); return; }
  const found = body.data.matchSuggestions;
  const page = found.edges.map((e) => e.node);
  const shown = new Set(more ? suggestions.map(pairOf) : []);
  const first = more ? suggestions.length : 0;
  suggestions = [...(more ? suggestions : []), ...page.filter((s) => !shown.has(pairOf(s)))];
  suggestionTotal = found.totalCount;
  suggestionCursor = found.pageInfo.endCursor || suggestionCursor;
  suggestionsLeft = found.pageInfo.hasNextPage;
  renderSuggestions();
  // The keyboard goes on with the first pair added
  if (more) $("#suggestions").children[first]?.querySelector("button")?.focus();
}

function dropSuggestion(suggestion) {
  suggestions = suggestions.filter((s) => pairOf(s) !== pairOf(suggestion));
  $("#suggestion-count").textContent = suggestionCount();
}

function renderSuggestions() {
  $("#suggestion-count").textContent = suggestionCount();
  $("#suggestion-more").hidden = !suggestionsLeft;
  const box = $("#suggestions");
  box.replaceChildren();
  if (!suggestions.length) {
    box.textContent = suggestionsLeft ? "None shown: show the next ones below." : "No suggestions to review.";
  }
  for (const s of suggestions) {
    const card = document.createElement("article");
    card.className = "suggestion";
    card.dataset.pair = pairOf(s);
    const title = document.createElement("h3");
    title.textContent = `${recordName(s.a)} ↔ ${recordName(s.b)} · score ${scoreText(s.score)}`
      + ` · waiting since ${when(s.since)}`;
    const rows = s.evidence.map((f) => [f.field, f.a, f.b, f.level, f.weight.toFixed(1)]);
    card.append(title, sideBySide(["Field", s.a.key, s.b.key, "Agreement", "Weight"], rows));
    if (canWrite()) {
      const buttons = document.createElement("div");
      buttons.className = "buttons";
      const name = `${s.a.key} and ${s.b.key}`;
      buttons.append(
        button("Accept", () => acceptSuggestion(s), { "aria-label": `Accept: ${name} are one person` }),
        button("Reject", () => rejectSuggestion(s, card), { "aria-label": `Reject: ${name} are two people` }),
        button("Skip", () => { dropSuggestion(s); focusAfter(card, box); }, { "aria-label": `Skip ${name}` }));
      card.append(buttons);
    }
    box.append(card);
  }
}

const ACCEPT = (dry, fields) => `mutation($a: RecordRefInput!, $b: RecordRefInput!, $reason: String!,
  $move: Boolean!, $liftRejection: Boolean!) { acceptSuggestion(a: $a, b: $b, reason: $reason,
  move: $move, liftRejection: $liftRejection, dryRun: ${dry}) { ${fields} } }`;

// As a link is (refusals.js): records it would take from another member and a steward's
// rejection it would lift (one made since the queue was read, too) are said in the preview,
// and Confirm sends what it says.
async function acceptSuggestion(suggestion) {
  // The dry run first, on the member view: the members as the merge would leave them.
  hooks.select("member");
  await hooks.open(suggestion.memberIds[0]);
  const variables = { a: suggestion.a, b: suggestion.b, move: false, liftRejection: false };
  const said = await refusalsOf(ACCEPT, variables);
  hooks.preview("accept suggestion",
    `${recordName(suggestion.a)} and ${recordName(suggestion.b)} become one member`
    + said.map((words) => `, and ${words}`).join(""),
    ACCEPT, variables);
}

async function rejectSuggestion(suggestion, card) {
  const reason = prompt("Why are they two people? (kept in the history)");
  if (!reason) return;
  const body = await gql(`mutation($a: RecordRefInput!, $b: RecordRefInput!, $reason: String!) {
    rejectSuggestion(a: $a, b: $b, reason: $reason) { id } }`, { a: suggestion.a, b: suggestion.b, reason });
  const error = firstError(body);
  if (error) { show(error); return; }
  suggestionLoads++;  // a load on its way read the queue before this rejection
  suggestionTotal -= 1;
  dropSuggestion(suggestion);
  focusAfter(card, $("#suggestions"));
}
