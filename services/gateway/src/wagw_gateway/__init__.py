"""The platform's HTTP edge: accounts and API keys of its own, everything else asked of the services."""
