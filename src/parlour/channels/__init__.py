"""Channels: a tenant's WhatsApp and SMS numbers (through Twilio) and email inboxes, the
conversations that arrive over them and the replies that go back the same way."""
