// Runs once, when the mongo service starts on an empty data volume: the gateway's own
// user, which may read and write its database and nothing else (the root user is for
// operators and the test suites).
db.getSiblingDB("admin").createUser({
  user: "membergraph",
  pwd: process.env.MEMBERGRAPH_DB_PASSWORD,
  roles: [{ role: "readWrite", db: "membergraph" }],
});
