"""Litestar building blocks shared by every part."""
