"""The support desk: tickets for support conversations, the public support start, the
embeddable widget's origins and the inactivity deadline (docs/support-desk.md)."""
