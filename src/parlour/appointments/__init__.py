"""Appointments: booked chats, experts' availability, free slots and reminders."""
