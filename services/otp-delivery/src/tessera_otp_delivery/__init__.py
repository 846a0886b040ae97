"""Tessera OTP delivery: a JetStream worker sending one-time codes by email and SMS."""
