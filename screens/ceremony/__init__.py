"""The provisioning ceremony screens, one per step."""
