"""Administration: the declarative configuration (parse, plan, apply) for users, namespaces and keys."""
