"""HTTP controllers: decode, call the service, encode."""
