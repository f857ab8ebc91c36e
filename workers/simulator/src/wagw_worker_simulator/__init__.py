"""A worker process that holds simulated WhatsApp sessions and speaks the worker protocol for real.

The worker side of the protocol is the worker SDK's (`wagw_worker_sdk`, no WhatsApp in it);
`whatsapp` holds the simulated sessions, `control` the HTTP API tests use to play the phone."""

VERSION = "0.1.0"
