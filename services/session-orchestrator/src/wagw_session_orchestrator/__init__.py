"""The session orchestrator: session lifecycle, worker assignment and message history."""
