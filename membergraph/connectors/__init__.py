"""Sources: one connector contract, the source formats and their backends."""
