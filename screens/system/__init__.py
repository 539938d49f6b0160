"""The system wing's screens: settings, TLS, update, power and factory reset of one device."""
