"""Messages and topology shared across processes (NATS events, internal HTTP bodies)."""
