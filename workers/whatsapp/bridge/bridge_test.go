package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
)

// A real whatsmeow store (SQLite, as a single worker's laptop uses) in a temporary directory.
func storeIn(t *testing.T) *sqlstore.Container {
	dialect, address := storeAddress(filepath.Join(t.TempDir(), "credentials.db"))
	container, err := sqlstore.New(context.Background(), dialect, address, libraryLog{"test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = container.Close() })
	return container
}

func TestALinkedDeviceIsFoundByTheKeyTheWorkerStored(t *testing.T) {
	container := storeIn(t)
	linked := types.JID{User: "15550001111", Device: 12, Server: types.DefaultUserServer}
	device := container.NewDevice()
	device.ID = &linked
	device.Account = &waAdv.ADVSignedDeviceIdentity{Details: []byte{1}, AccountSignature: make([]byte, 64),
		AccountSignatureKey: make([]byte, 32), DeviceSignature: make([]byte, 64)} // what pairing would have stored
	if err := device.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	bridge := NewBridge(container, NewLines(&bytes.Buffer{}))
	found, err := bridge.device(context.Background(), DeviceKey(linked))
	if err != nil || found == nil || *found.ID != linked {
		t.Fatalf("found %v, %v", found, err)
	}
	fresh, err := bridge.device(context.Background(), "")
	if err != nil || fresh.ID != nil {
		t.Fatalf("no key: a new device to link, got %v, %v", fresh, err)
	}
}

func TestConnectingWithADeviceTheStoreNoLongerHasReportsLoggedOut(t *testing.T) {
	var out bytes.Buffer
	bridge := NewBridge(storeIn(t), NewLines(&out))
	gone := types.JID{User: "15550002222", Device: 3, Server: types.DefaultUserServer}
	args, _ := json.Marshal(map[string]string{"device_key": DeviceKey(gone)})
	if _, err := bridge.connect(Request{Op: "connect", Session: "s_1", Args: args}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `{"event":"logged_out","session":"s_1","data":{"reason":"the device's credentials are no longer stored"}}`) {
		t.Fatalf("got %s", out.String())
	}
	if _, err := bridge.held("s_1"); err == nil {
		t.Fatal("a session without credentials is held")
	}
}
