"""Use cases: one module per flow; each loads through ports, applies the domain, commits."""
