"""Administration screens: users, namespaces, keys."""
