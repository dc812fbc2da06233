// A link the API refuses until the steward says so, said in words for its preview: records it
// would take from another member (WOULD_MOVE_RECORDS; Confirm sends ``move``) and a steward's
// rejection it would lift (WOULD_LIFT_REJECTION; Confirm sends ``liftRejection``). Either may
// come first and the other only once the first is said: the dry run is asked until neither is.
// Names, records and reasons are as the API gives them to this key (masked without pii:read).

import { gql, text } from "./lib.js";
import { factsOf, findMember } from "./member.js";

// A refusal's ``records`` read ``source:key``, the source in lower case.
const refsOf = (records) => records.map((ref) => ref.split(/:(.*)/s))
  .map(([source, key]) => ({ source: source.toUpperCase(), key }));
const nameOf = (member) => [member.profile?.firstName, member.profile?.lastName].filter(Boolean).join(" ");
const holds = (member, r) => member.records.some((m) => m.source === r.source && m.key === r.key);

// "Ann Lee (M-1) loses TRANSACTIONS loyalty:LD1 (1 purchase(s), 10 points)" for each member
// the refusal names.
async function movesFrom({ members = [], records = [] }) {
  const leaving = refsOf(records);
  const parts = await Promise.all(members.map(async (id) => {
    const member = await findMember("MEMBER", id);
    if (!member) return `member ${id} loses ${leaving.map((r) => `${r.source} ${r.key}`).join(", ")}`;
    const name = nameOf(member);
    const lines = leaving.filter((r) => holds(member, r)).map((r) => `${r.source} ${r.key} (${factsOf(member, r)})`);
    return `${name ? `${name} (${id})` : `member ${id}`} loses ${lines.join(", ")}`;
  }));
  return `records move: ${parts.join("; ")}`;
}

// "lifts the steward's word that CRM C-ANN (Ann Lee) and CRM C-BOB (Bob Kim) are two people
// (event 7, by agent-9, 'not the same person')": each rejection as the members' histories tell it.
async function liftsFrom({ members = [], records = [], events = [] }) {
  const found = (await Promise.all(members.map((id) => findMember("MEMBER", id)))).filter(Boolean);
  const people = refsOf(records).map((r) => {
    const member = found.find((m) => holds(m, r));
    const name = member ? nameOf(member) : "";
    return `${r.source} ${r.key}${name ? ` (${name})` : ""}`;
  });
  const history = found.flatMap((m) => m.identityHistory);
  const said = events.map((id) => {
    const event = history.find((e) => e.id === id);
    if (!event) return `event ${id}`;
    return `event ${id}, by ${text(event.actor)}${event.reason ? `, '${event.reason}'` : ""}`;
  });
  return `lifts the steward's word that ${people.join(" and ")} are two people (${said.join("; ")})`;
}

const TOLD = {
  WOULD_MOVE_RECORDS: { flag: "move", words: movesFrom },
  WOULD_LIFT_REJECTION: { flag: "liftRejection", words: liftsFrom },
};

// Asks the dry run of ``mutation`` until it refuses nothing the steward may say: sets in
// ``variables`` the flags Confirm must send, and answers each refusal in words, in turn.
export async function refusalsOf(mutation, variables) {
  const said = [];
  for (;;) {
    const body = await gql(mutation(true, "id"), { ...variables, reason: "preview" });
    const refusal = (body.errors || []).map((e) => e.extensions || {})
      .find((x) => TOLD[x.code] && !variables[TOLD[x.code].flag]);
    if (!refusal) return said;
    const { flag, words } = TOLD[refusal.code];
    variables[flag] = true;
    said.push(await words(refusal));
  }
}
