package main

import (
	"reflect"
	"testing"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

var me = types.JID{User: "15550001111", Device: 7, Server: types.DefaultUserServer}

func TestConnectionEventsAreTheWorkersEvents(t *testing.T) {
	cases := []struct {
		raw  any
		want Outgoing
	}{
		{&events.PairSuccess{ID: me}, Outgoing{"pair_success", map[string]any{"phone": "15550001111", "device_key": DeviceKey(me)}}},
		{&events.Connected{}, Outgoing{"connected", map[string]any{"phone": "15550001111"}}},
		{&events.LoggedOut{OnConnect: true, Reason: events.ConnectFailureMainDeviceGone},
			Outgoing{"logged_out", map[string]any{"reason": "primary device was logged out"}}},
		{&events.LoggedOut{}, Outgoing{"logged_out", map[string]any{"reason": "logged out"}}},
		{&events.StreamReplaced{}, Outgoing{"stream_replaced", nil}},
		{&events.Disconnected{}, Outgoing{"disconnected", nil}},
		{&events.ClientOutdated{}, failed("WhatsApp says this client is outdated: rebuild the worker with a newer whatsmeow")},
		{&events.ConnectFailure{Reason: events.ConnectFailureBadUserAgent, Message: "nope"},
			failed("WhatsApp refused the connection: client user agent was rejected nope")},
		{&events.Receipt{MessageIDs: []types.MessageID{"WAGW0123456789ABCDEF"}, Type: types.ReceiptTypeDelivered},
			Outgoing{"receipt", map[string]any{"ids": []types.MessageID{"WAGW0123456789ABCDEF"}, "status": "delivered"}}},
		{&events.Receipt{MessageIDs: []types.MessageID{"A"}, Type: types.ReceiptTypeRead},
			Outgoing{"receipt", map[string]any{"ids": []types.MessageID{"A"}, "status": "read"}}},
		{&events.Receipt{MessageIDs: []types.MessageID{"A"}, Type: types.ReceiptTypePlayed},
			Outgoing{"receipt", map[string]any{"ids": []types.MessageID{"A"}, "status": "read"}}},
	}
	for _, c := range cases {
		got, known := connectionEvent(c.raw, me)
		if !known || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%T: got %#v (%v), want %#v", c.raw, got, known, c.want)
		}
	}
}

func TestEventsTheWorkerDoesNotUseAreLeftOut(t *testing.T) {
	for _, raw := range []any{
		&events.Receipt{MessageIDs: []types.MessageID{"A"}, Type: types.ReceiptTypeRetry},
		&events.ConnectFailure{Reason: events.ConnectFailureLoggedOut}, // told as LoggedOut by whatsmeow
		&events.KeepAliveTimeout{}, &events.HistorySync{},
	} {
		if got, known := connectionEvent(raw, me); known {
			t.Errorf("%T mapped to %#v", raw, got)
		}
	}
}

func TestConnectedBeforeAnyDeviceHasNoPhone(t *testing.T) {
	got, _ := connectionEvent(&events.Connected{}, types.JID{})
	if got.Data["phone"] != nil {
		t.Fatalf("phone = %v", got.Data["phone"])
	}
}
