"""Attachments: files uploaded into a conversation and referenced by a message."""
