"""The realtime service: the Socket.IO edge that pushes domain events to browsers."""
