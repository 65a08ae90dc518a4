"""Parlour: a self-hosted conversation service."""

__version__ = "0.1.0"
