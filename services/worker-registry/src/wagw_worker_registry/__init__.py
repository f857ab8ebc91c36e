"""The worker registry: which workers exist, whether they are alive, and which one gets a new session."""
