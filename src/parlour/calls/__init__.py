"""Video calls: who may take part in a conversation's WebRTC call, and its signaling relay."""
