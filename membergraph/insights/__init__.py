"""Pure functions over a member's records and facts: profile, loyalty."""
