package main

// whatsmeow's events in the protocol's terms, as plain functions of whatsmeow's own types. Each maps to
// one of the worker's client events (workers/whatsapp/src/wagw_worker_whatsapp/client.py).

import (
	"strings"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

// Outgoing is one event for the worker: its name and data.
type Outgoing struct {
	Name string
	Data map[string]any
}

var receiptStatus = map[types.ReceiptType]string{
	types.ReceiptTypeDelivered: "delivered",
	types.ReceiptTypeRead:      "read",
	types.ReceiptTypePlayed:    "read",
}

// connectionEvent maps the connection's events; `own` is the session's account (for Connected).
// false: not a connection event.
func connectionEvent(raw any, own types.JID) (Outgoing, bool) {
	switch evt := raw.(type) {
	case *events.PairSuccess:
		return Outgoing{"pair_success", map[string]any{"phone": evt.ID.User, "device_key": DeviceKey(evt.ID)}}, true
	case *events.Connected:
		return Outgoing{"connected", map[string]any{"phone": nullable(own.User)}}, true
	case *events.LoggedOut:
		reason := "logged out"
		if evt.OnConnect {
			reason = reasonText(evt.Reason)
		}
		return Outgoing{"logged_out", map[string]any{"reason": reason}}, true
	case *events.StreamReplaced:
		return Outgoing{"stream_replaced", nil}, true
	case *events.Disconnected:
		return Outgoing{"disconnected", nil}, true
	case *events.ConnectFailure:
		if evt.Reason.IsLoggedOut() {
			return Outgoing{}, false // whatsmeow reports it as LoggedOut too
		}
		return failed("WhatsApp refused the connection: " + reasonText(evt.Reason) + " " + evt.Message), true
	case *events.ClientOutdated:
		return failed("WhatsApp says this client is outdated: rebuild the worker with a newer whatsmeow"), true
	case *events.TemporaryBan:
		return failed(evt.String()), true
	case *events.Receipt:
		status, known := receiptStatus[evt.Type]
		if !known || len(evt.MessageIDs) == 0 {
			return Outgoing{}, false
		}
		return Outgoing{"receipt", map[string]any{"ids": evt.MessageIDs, "status": status}}, true
	}
	return Outgoing{}, false
}

func failed(reason string) Outgoing {
	return Outgoing{"connection_failed", map[string]any{"reason": strings.TrimSpace(reason)}}
}

// reasonText is whatsmeow's words for a reason ("401: logged out from another device" → its words).
func reasonText(reason events.ConnectFailureReason) string {
	_, words, found := strings.Cut(reason.String(), ": ")
	if !found {
		return reason.String()
	}
	return words
}

func nullable(text string) any {
	if text == "" {
		return nil
	}
	return text
}
