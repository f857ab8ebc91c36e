package main

import (
	"testing"

	"go.mau.fi/whatsmeow/types"
)

// What neonize 0.5.2 stores for a device: its JID protobuf serialized, as hex (made with neonize's own
// Neonize_pb2.JID). Both adapters must read and write exactly this.
const neonizeKey = "0a0b31353535313233343536371000180c20002a0e732e77686174736170702e6e65743000"

func TestDeviceKeyIsNeonizesEncoding(t *testing.T) {
	jid := types.JID{User: "15551234567", Device: 12, Server: types.DefaultUserServer}
	if got := DeviceKey(jid); got != neonizeKey {
		t.Fatalf("DeviceKey = %s, want neonize's %s", got, neonizeKey)
	}
	back, err := JIDFromDeviceKey(neonizeKey)
	if err != nil || back != jid {
		t.Fatalf("JIDFromDeviceKey = %v, %v; want %v", back, err, jid)
	}
}

func TestALidDeviceKeyRoundTrips(t *testing.T) {
	jid := types.JID{User: "123456789012345", RawAgent: 1, Device: 3, Server: types.HiddenUserServer}
	back, err := JIDFromDeviceKey(DeviceKey(jid))
	if err != nil || back != jid {
		t.Fatalf("round trip = %v, %v; want %v", back, err, jid)
	}
}

func TestABrokenDeviceKeyIsAnError(t *testing.T) {
	for _, key := range []string{"zz", "0a", "1000", ""} {
		if _, err := JIDFromDeviceKey(key); err == nil {
			t.Errorf("JIDFromDeviceKey(%q) read a device", key)
		}
	}
}
