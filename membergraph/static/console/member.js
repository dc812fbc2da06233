// A member read whole through the public API (as this key may see it: masked without
// pii:read), and the facts each of its records holds. The member view shows them; the
// refusals a link previews (refusals.js) name their members and records with them.

import { firstError, gql, show, text } from "./lib.js";

const LOADED = 100;  // purchases, visit events and calls loaded with a member
const MEMBER = `id redirectedFrom
  profile { firstName lastName }
  loyalty { pointsBalance tier }
  records { source key }
  identifiers { kind value records { source key } }
  transactions(first: ${LOADED}) { totalCount edges { node { transactionId pointsEarned pointsRedeemed status occurredAt record { source key } } } }
  webActivity(first: ${LOADED}) { eventId record { source key } }
  callCenterInteractions(first: ${LOADED}) { interactionId startedAt reason }
  identityHistory { id kind at actor rule reason evidence undoable undoneBy records { source key } }`;

export async function findMember(kind, value) {
  const query = kind === "MEMBER"
    ? `query($v: ID!) { found: member(id: $v) { ${MEMBER} } }`
    : `query($k: IdentifierKind!, $v: String!) { found: memberByIdentifier(kind: $k, value: $v) { ${MEMBER} } }`;
  const body = await gql(query, kind === "MEMBER" ? { v: value } : { k: kind, v: value });
  const error = firstError(body);
  if (error) { show(error); return null; }
  return (body.data || {}).found;
}

// The facts that follow a record: the lines the API says are its own (a line's ``record``),
// never matched here on the card or e-mail as the source wrote them (``ld.1234.5678`` is card
// LD12345678, a card's e-mail orders are the card's).
const ownedBy = (record) => (line) =>
  !!line.record && line.record.source === record.source && line.record.key === record.key;

export function factsOf(member, record) {
  if (record.source === "TRANSACTIONS") {
    const txs = member.transactions.edges.map((e) => e.node);
    const mine = txs.filter(ownedBy(record));
    const points = mine.reduce((sum, t) => sum + (t.status === "COMPLETED" ? t.pointsEarned - t.pointsRedeemed : 0), 0);
    // Counted over the purchases loaded: say so when the member has more than that.
    const over = member.transactions.totalCount > txs.length ? ` (among the latest ${txs.length})` : "";
    return `${mine.length} purchase(s), ${points} points${over}`;
  }
  if (record.source === "WEB_ANALYTICS") {
    const mine = member.webActivity.filter(ownedBy(record));
    const over = member.webActivity.length >= LOADED ? ` (among the latest ${LOADED})` : "";
    return `${mine.length} visit event(s)${over}`;
  }
  if (record.source === "CALL_CENTER") {
    const call = member.callCenterInteractions.find((c) => c.interactionId === record.key);
    return call ? `call ${call.startedAt.slice(0, 10)}: ${text(call.reason)}` : "call";
  }
  return "profile";
}
