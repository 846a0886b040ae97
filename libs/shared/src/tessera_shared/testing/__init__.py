"""Test helpers: a pytest plugin with real throwaway servers, an SMTP catcher, an HTTP sink."""
