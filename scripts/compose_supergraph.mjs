// Composes membergraph's subgraph SDL with a second tiny subgraph (Apollo Federation v2),
// with The Guild's composition library, the same rules Apollo's router applies.
//
//   npm install @theguild/federation-composition graphql
//   node scripts/compose_supergraph.mjs <membergraph SDL file>
//
// Prints the supergraph SDL on success; on failure prints each composition error and exits 1.
import { readFileSync } from "node:fs";
import { parse } from "graphql";
import { composeServices } from "@theguild/federation-composition";

const offers = `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
  type Member @key(fields: "id") {
    id: ID!
    recommendedOffers: [String!]!
  }
  type Query { offerCatalogue: [String!]! }
`;

const result = composeServices([
  { name: "membergraph", typeDefs: parse(readFileSync(process.argv[2], "utf8")), url: "http://membergraph/graphql" },
  { name: "offers", typeDefs: parse(offers), url: "http://offers/graphql" },
]);
if (result.errors && result.errors.length) {
  for (const error of result.errors) console.error(String(error.message ?? error));
  process.exit(1);
}
process.stdout.write(result.supergraphSdl);
