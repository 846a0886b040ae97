"""Pure rules of delivery: what a message says, and when to retry or give up."""
