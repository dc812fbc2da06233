// The GraphQL-over-HTTP audit of the graphql-http package, against a running gateway.
//   npm install graphql-http graphql && node scripts/graphql_http_audit.mjs http://127.0.0.1:8000/graphql
// Prints every check that is not "ok", then the counts per level (MUST, SHOULD, MAY).
import { auditServer } from 'graphql-http';
const url = process.argv[2];
const results = await auditServer({ url });
let fails = 0;
for (const r of results) {
  if (r.status !== 'ok') { fails++; console.log(`${r.status.toUpperCase()} ${r.id} ${r.name}: ${r.reason}`); }
}
const counts = {};
for (const r of results) { const lvl = r.name.startsWith('MUST') ? 'MUST' : r.name.startsWith('SHOULD') ? 'SHOULD' : 'MAY'; counts[lvl] = counts[lvl] || {ok:0, total:0}; counts[lvl].total++; if (r.status === 'ok') counts[lvl].ok++; }
console.log(JSON.stringify(counts));
