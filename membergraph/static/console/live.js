// Live: the member on screen follows ``memberChanged``. Every change heard moves the page's
// cursor; a socket lost (the gateway restarted, a proxy timed it out) comes back by itself,
// sooner first, and resumes after that cursor: the changes missed while down arrive first,
// in order, and are listed. Refused (4401, 4403: the key), it says so and stays down.

import { $, gql, state, text } from "./lib.js";

// (lead, changes) => the member read again and shown, the work in hand kept, and the banner
// saying ``lead`` and the changes (see ``said``)
let onChange = null;
export const useRefresh = (given) => { onChange = given; };

// The feed's newest cursor now: following from it misses nothing from this moment on.
export async function feedHead() {
  const body = await gql("{ viewer { feedCursor } }");
  return ((body.data || {}).viewer || {}).feedCursor ?? null;
}

// What a change was, in words: an identity change names who made it, a fact its source line,
// a tier moved the tier it reached (``member``: as read after it; none yet: not named).
function said(change, member) {
  if (change.actor) return `${change.kind} by ${change.actor}`;
  if (change.source) return `${change.kind} from ${change.source} ${text(change.lineId)}`;
  const tier = member?.loyalty?.tier;
  return change.kind === "TIER_CHANGED" && tier ? `${change.kind}: now ${tier}` : change.kind;
}

// The banner's words: ``lead`` and every change of ``changes`` (the latest SHOWN of them).
const SHOWN = 10;
export function news(lead, changes, member) {
  const named = changes.slice(-SHOWN).map((change) => said(change, member));
  const earlier = changes.length > SHOWN ? ` (and ${changes.length - SHOWN} earlier)` : "";
  return changes.length ? `${lead} ${named.join("; ")}${earlier}.` : lead;
}

const SUBSCRIBE = `subscription($id: ID!, $after: String) { memberChanged(id: $id, after: $after) {
  cursor kind actor source lineId at memberIds } }`;
const FIRST_WAIT = 1000;  // ms after subscribing again for the first missed change
const CAUGHT_UP = 300;  // ms without another: the replay is over, shown once
// One update pushes several changes at once (a purchase, then the tier it moved): those heard
// within GATHER ms are shown together, and the banner keeps naming every change heard until
// QUIET ms pass without one, so a later one of the same update never hides the first.
const GATHER = 150;
const QUIET = 5000;

function tell(news) {
  const live = $("#live");
  live.textContent = news;
  live.hidden = false;
}

export function stopFollowing() {
  if (state.socket) { state.socket.close(1000); state.socket = null; }
}

// ``cursor``: the feed's cursor when the member was read (feedHead, asked before the read).
export function follow(memberId, cursor, tries = 0) {
  stopFollowing();
  state.cursor = cursor;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
  const socket = new WebSocket(url, "graphql-transport-ws");
  state.socket = socket;
  let head = null;  // back after a loss: the feed's head then; changes up to it were missed
  const missed = [];
  let settle = null;
  const heard = [];  // the changes the banner names now
  let last = 0;  // when the last change was heard (ms)
  let waiting = null;  // the changes heard are about to be shown
  const showHeard = () => {
    if (waiting) return;
    waiting = setTimeout(async () => {
      waiting = null;
      if (current()) await onChange("Changed just now:", [...heard]);
    }, GATHER);
  };
  const current = () => state.member && state.socket === socket;
  // The missed changes come first, at once: shown together once they stop coming.
  const caughtUp = (wait) => {
    clearTimeout(settle);
    settle = setTimeout(() => {
      if (!current()) return;
      if (!missed.length) tell("Following live again: nothing changed meanwhile.");
      else onChange("Following live again. Missed while down:", missed);
    }, wait);
  };
  socket.onopen = () => {
    const key = sessionStorage.getItem("membergraph-key");
    socket.send(JSON.stringify({ type: "connection_init", payload: key ? { Authorization: `Bearer ${key}` } : {} }));
  };
  socket.onmessage = async (message) => {
    const data = JSON.parse(message.data);
    if (data.type === "connection_ack") {
      const back = tries > 0;
      tries = 0;
      if (back) head = await feedHead();
      socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: {
        query: SUBSCRIBE, variables: { id: memberId, after: state.cursor } } }));
      if (back) caughtUp(FIRST_WAIT);
    } else if (data.type === "next" && data.payload.errors) {
      // Too long away (the feed no longer keeps the changes missed): read the member anew.
      if (current()) await onChange("Following live again; the changes missed are no longer kept.", []);
    } else if (data.type === "next" && data.payload.data) {
      if (!current()) return;
      const change = data.payload.data.memberChanged;
      state.cursor = change.cursor;
      if (head !== null && Number(change.cursor) <= Number(head)) {
        missed.push(change);
        caughtUp(CAUGHT_UP);
        return;
      }
      if (Date.now() - last > QUIET) heard.length = 0;
      last = Date.now();
      heard.push(change);
      showHeard();
    }
  };
  socket.onclose = (event) => {
    if (state.socket !== socket) return;  // another member followed, or none
    state.socket = null;
    if (event.code === 4401 || event.code === 4403) {
      tell(`Live updates refused (${event.reason || event.code}): reload the page to follow again.`);
      return;
    }
    tell("Live updates lost: reconnecting…");
    setTimeout(() => {
      if (state.member && !state.socket) follow(state.member.id, state.cursor, tries + 1);
    }, Math.min(10_000, 1000 * 2 ** tries));
  };
}
