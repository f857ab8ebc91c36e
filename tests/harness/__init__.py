"""Test support: run the platform's real processes against the local servers, isolated per run."""
