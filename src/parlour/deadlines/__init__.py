"""One deadline sweep for everything that has a due time (docs/architecture/lifecycle.md)."""
