"""Tessera identity: users, credentials, passwords, one-time codes and the event outbox."""
