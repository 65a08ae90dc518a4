"""Paid conversations: plans, Stripe Checkout and its webhook, orders, refunds, evidence."""
