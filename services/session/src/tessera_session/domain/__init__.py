"""Session rules, pure: token contents, refresh-token derivation, the family state machine."""
