"""The webhook dispatcher: customers' endpoints, and Standard-Webhooks-signed deliveries of domain events."""
