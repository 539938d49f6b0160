"""System settings and maintenance: local checks of values, the clock drift, journaled device changes."""
