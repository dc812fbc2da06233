"""Identity: normalization, the rule engine, member IDs, stewardship and the store."""
