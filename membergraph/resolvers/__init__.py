"""Field resolvers and the per-request context; they return domain objects."""
