package main

// A session's device as the worker's directory (`wagw_session_devices`) stores it: the hex of neonize's
// JID protobuf (fields User 1, RawAgent 2, Device 3, Integrator 4, Server 5, IsEmpty 6, all written as
// proto2 required fields are). Both adapters read and write the same key, so a session linked by one
// is restored by the other.

import (
	"encoding/hex"
	"fmt"

	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/encoding/protowire"
)

func DeviceKey(jid types.JID) string {
	var b []byte
	b = appendString(b, 1, jid.User)
	b = appendVarint(b, 2, uint64(jid.RawAgent))
	b = appendVarint(b, 3, uint64(jid.Device))
	b = appendVarint(b, 4, uint64(jid.Integrator))
	b = appendString(b, 5, jid.Server)
	b = appendVarint(b, 6, 0) // IsEmpty: false, a linked device's JID never is
	return hex.EncodeToString(b)
}

func appendString(b []byte, number protowire.Number, value string) []byte {
	return protowire.AppendString(protowire.AppendTag(b, number, protowire.BytesType), value)
}

func appendVarint(b []byte, number protowire.Number, value uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(b, number, protowire.VarintType), value)
}

func JIDFromDeviceKey(key string) (types.JID, error) {
	raw, err := hex.DecodeString(key)
	if err != nil {
		return types.JID{}, fmt.Errorf("device key is not hex: %w", err)
	}
	var jid types.JID
	for len(raw) > 0 {
		number, kind, n := protowire.ConsumeTag(raw)
		if n < 0 {
			return types.JID{}, fmt.Errorf("device key: %w", protowire.ParseError(n))
		}
		raw = raw[n:]
		switch kind {
		case protowire.BytesType:
			value, m := protowire.ConsumeString(raw)
			if m < 0 {
				return types.JID{}, fmt.Errorf("device key: %w", protowire.ParseError(m))
			}
			raw = raw[m:]
			if number == 1 {
				jid.User = value
			} else if number == 5 {
				jid.Server = value
			}
		case protowire.VarintType:
			value, m := protowire.ConsumeVarint(raw)
			if m < 0 {
				return types.JID{}, fmt.Errorf("device key: %w", protowire.ParseError(m))
			}
			raw = raw[m:]
			switch number {
			case 2:
				jid.RawAgent = uint8(value)
			case 3:
				jid.Device = uint16(value)
			case 4:
				jid.Integrator = uint16(value)
			}
		default:
			m := protowire.ConsumeFieldValue(number, kind, raw)
			if m < 0 {
				return types.JID{}, fmt.Errorf("device key: %w", protowire.ParseError(m))
			}
			raw = raw[m:]
		}
	}
	if jid.User == "" || jid.Server == "" {
		return types.JID{}, fmt.Errorf("device key names no device")
	}
	return jid, nil
}
