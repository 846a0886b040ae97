"""Tessera Inbox: a local SMTP server and SMS webhook with a web view of what arrived (dev only)."""
