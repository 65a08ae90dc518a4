"""Canned responses: a tenant's saved replies that agents insert by shortcut (`/greeting`)."""
