package main

// Version is what `--version` prints and the worker checks at start: the program's own number and the
// whatsmeow it is built with (the same whatsmeow as neonize 0.5.2's bundled library, so both adapters
// read and write the credential store's schema alike). Change both together with go.mod.
const Version = "wagw-whatsmeow 1.1.0 (whatsmeow v0.0.0-20260921121126-35ae40906e74)"
