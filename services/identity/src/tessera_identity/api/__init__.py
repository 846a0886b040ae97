"""HTTP controllers: decode, call the flow, encode. No SQL here."""
