"""A worker process that holds simulated WhatsApp sessions and speaks the worker protocol for real.

`protocol` is the worker side of the protocol (no WhatsApp in it), `whatsapp` the simulated
sessions, `control` the HTTP API tests use to play the phone."""

VERSION = "0.1.0"
