"""The provisioning ceremony: plan (a pure state machine), run, record, report."""
