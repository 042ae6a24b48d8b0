"""The outbox relay: the one function a PingSource wakes, sweeping every domain's outbox."""
