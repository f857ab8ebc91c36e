package main

import (
	"encoding/base64"
	"encoding/hex"
	"reflect"
	"testing"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
)

var (
	contact      = types.JID{User: "15552223333", Server: types.DefaultUserServer}
	contactLid   = types.JID{User: "98765432109876", Server: types.HiddenUserServer}
	group        = types.JID{User: "120363000000000001", Server: types.GroupServer}
	fileSHA      = []byte{0xab, 0xcd}
	fromContact  = types.MessageSource{Chat: contact, Sender: contact}
	fromLid      = types.MessageSource{Chat: contactLid, Sender: contactLid, SenderAlt: contact}
	fromLidGroup = types.MessageSource{Chat: group, Sender: contactLid, SenderAlt: contact, IsGroup: true}
)

func received(source types.MessageSource, message *waE2E.Message) *events.Message {
	return &events.Message{Info: types.MessageInfo{MessageSource: source, ID: "3EB0AAAA"}, Message: message}
}

func TestEveryReceivedTypeIsReadAsTheContractsType(t *testing.T) {
	cases := []struct {
		message *waE2E.Message
		kind    string
		text    string
		parts   map[string]any
	}{
		{&waE2E.Message{Conversation: proto.String("hi")}, "text", "hi", map[string]any{}},
		{&waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("long")}}, "text", "long", map[string]any{}},
		{&waE2E.Message{ImageMessage: &waE2E.ImageMessage{Caption: proto.String("cat"), Mimetype: proto.String("image/jpeg"),
			FileLength: proto.Uint64(10), FileSHA256: fileSHA}}, "image", "cat", map[string]any{"media": map[string]any{
			"mimetype": "image/jpeg", "size": uint64(10), "sha256": "abcd", "filename": nil, "ptt": false}}},
		{&waE2E.Message{AudioMessage: &waE2E.AudioMessage{PTT: proto.Bool(true), Mimetype: proto.String("audio/ogg; codecs=opus")}},
			"audio", "", map[string]any{"media": map[string]any{
				"mimetype": "audio/ogg; codecs=opus", "size": uint64(0), "sha256": nil, "filename": nil, "ptt": true}}},
		{&waE2E.Message{DocumentWithCaptionMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{
			DocumentMessage: &waE2E.DocumentMessage{FileName: proto.String("a.pdf"), Caption: proto.String("read"),
				Mimetype: proto.String("application/pdf")}}}}, "document", "read", map[string]any{"media": map[string]any{
			"mimetype": "application/pdf", "size": uint64(0), "sha256": nil, "filename": "a.pdf", "ptt": false}}},
		{&waE2E.Message{StickerMessage: &waE2E.StickerMessage{Mimetype: proto.String("image/webp")}}, "sticker", "",
			map[string]any{"media": map[string]any{"mimetype": "image/webp", "size": uint64(0), "sha256": nil, "filename": nil, "ptt": false}}},
		{&waE2E.Message{VideoMessage: &waE2E.VideoMessage{Caption: proto.String("clip")}}, "video", "clip",
			map[string]any{"media": map[string]any{"mimetype": nil, "size": uint64(0), "sha256": nil, "filename": nil, "ptt": false}}},
		{&waE2E.Message{LocationMessage: &waE2E.LocationMessage{DegreesLatitude: proto.Float64(52.5),
			DegreesLongitude: proto.Float64(13.4), Name: proto.String("Berlin")}}, "location", "",
			map[string]any{"location": map[string]any{"latitude": 52.5, "longitude": 13.4, "name": "Berlin", "address": nil}}},
		{&waE2E.Message{ContactMessage: &waE2E.ContactMessage{DisplayName: proto.String("Ann"),
			Vcard: proto.String("BEGIN:VCARD\nTEL;type=CELL;waid=4915112345678:+49 151 12345678\nEND:VCARD")}}, "contact", "",
			map[string]any{"contact": map[string]any{"name": "Ann", "phone": "4915112345678"}}},
		{&waE2E.Message{ContactMessage: &waE2E.ContactMessage{DisplayName: proto.String("Bo"),
			Vcard: proto.String("BEGIN:VCARD\nTEL:+1 (555) 000-1234\nEND:VCARD")}}, "contact", "",
			map[string]any{"contact": map[string]any{"name": "Bo", "phone": "15550001234"}}},
		{&waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Key: &waCommon.MessageKey{ID: proto.String("WAGW0123456789ABCDEF")},
			Text: proto.String("👍")}}, "reaction", "", map[string]any{"reaction": map[string]any{"wa_message_id": "WAGW0123456789ABCDEF", "emoji": "👍"}}},
		{&waE2E.Message{PollCreationMessageV3: &waE2E.PollCreationMessage{Name: proto.String("Lunch?"),
			Options:                []*waE2E.PollCreationMessage_Option{{OptionName: proto.String("yes")}, {OptionName: proto.String("no")}},
			SelectableOptionsCount: proto.Uint32(1)}}, "poll", "",
			map[string]any{"poll": map[string]any{"name": "Lunch?", "options": []string{"yes", "no"}, "selectable_count": uint32(1)}}},
		{&waE2E.Message{EphemeralMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{Conversation: proto.String("gone soon")}}},
			"text", "gone soon", map[string]any{}},
		{&waE2E.Message{ButtonsMessage: &waE2E.ButtonsMessage{}}, "unsupported", "", map[string]any{}},
	}
	for _, c := range cases {
		out, known := messageEvent(received(fromContact, c.message))
		if !known || out.Name != "message" {
			t.Fatalf("%v: not a message: %#v", c.message, out)
		}
		want := map[string]any{"wa_message_id": "3EB0AAAA", "chat": "15552223333@s.whatsapp.net",
			"sender": "15552223333@s.whatsapp.net", "type": c.kind, "text": c.text, "parts": c.parts}
		if _, isMedia := c.parts["media"]; isMedia {
			want["media_ref"] = out.Data["media_ref"]
		}
		if !reflect.DeepEqual(out.Data, want) {
			t.Errorf("%s:\n got %#v\nwant %#v", c.kind, out.Data, want)
		}
	}
}

func TestAReceivedFilesRefIsItsMessageForTheDownload(t *testing.T) {
	image := &waE2E.ImageMessage{DirectPath: proto.String("/v/t62/x"), MediaKey: []byte{1, 2, 3}, FileSHA256: fileSHA}
	out, _ := messageEvent(received(fromContact, &waE2E.Message{ImageMessage: image}))
	raw, err := base64.StdEncoding.DecodeString(out.Data["media_ref"].(string))
	back := &waE2E.Message{}
	if err != nil || proto.Unmarshal(raw, back) != nil || !proto.Equal(back.GetImageMessage(), image) {
		t.Fatalf("media_ref does not carry the image message: %v", err)
	}
}

func TestALidSenderIsReportedInTheChatOfItsNumber(t *testing.T) {
	out, _ := messageEvent(received(fromLid, &waE2E.Message{Conversation: proto.String("hi")}))
	if out.Data["chat"] != "15552223333@s.whatsapp.net" || out.Data["sender"] != "98765432109876@lid" ||
		out.Data["parts"].(map[string]any)["sender_phone"] != "15552223333" {
		t.Fatalf("got %#v", out.Data)
	}
	out, _ = messageEvent(received(fromLidGroup, &waE2E.Message{Conversation: proto.String("hi all")}))
	if out.Data["chat"] != "120363000000000001@g.us" || out.Data["sender"] != "98765432109876@lid" {
		t.Fatalf("group: got %#v", out.Data)
	}
}

func TestAReplyNamesTheMessageItQuotes(t *testing.T) {
	reply := &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("yes"),
		ContextInfo: &waE2E.ContextInfo{StanzaID: proto.String("WAGW0123456789ABCDEF")}}}
	out, _ := messageEvent(received(fromContact, reply))
	if out.Data["parts"].(map[string]any)["reply_to_wa_message_id"] != "WAGW0123456789ABCDEF" {
		t.Fatalf("got %#v", out.Data)
	}
}

func TestEditsAndDeletionsOfReceivedMessages(t *testing.T) {
	key := &waCommon.MessageKey{ID: proto.String("3EB0OLD")}
	edit := &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(), Key: key,
		EditedMessage: &waE2E.Message{Conversation: proto.String("fixed")}}}
	out, known := messageEvent(received(fromContact, edit))
	if !known || !reflect.DeepEqual(out, Outgoing{"edited", map[string]any{"wa_message_id": "3EB0OLD", "text": "fixed"}}) {
		t.Fatalf("edit: %#v", out)
	}
	revoke := &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum(), Key: key}}
	out, known = messageEvent(received(fromContact, revoke))
	if !known || !reflect.DeepEqual(out, Outgoing{"deleted", map[string]any{"wa_message_id": "3EB0OLD"}}) {
		t.Fatalf("revoke: %#v", out)
	}
	keyShare := &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_APP_STATE_SYNC_KEY_SHARE.Enum()}}
	if out, known = messageEvent(received(fromContact, keyShare)); known {
		t.Fatalf("a key share was reported: %#v", out)
	}
}

func TestOurOwnEchoesAreNotInbound(t *testing.T) {
	echo := received(types.MessageSource{Chat: contact, Sender: me, IsFromMe: true}, &waE2E.Message{Conversation: proto.String("x")})
	if _, known := messageEvent(echo); known {
		t.Fatal("our own message reported as inbound")
	}
}

func TestAPollVoteNamesItsPollAndTheChosenOptionsByHash(t *testing.T) {
	vote := received(fromLid, &waE2E.Message{PollUpdateMessage: &waE2E.PollUpdateMessage{
		PollCreationMessageKey: &waCommon.MessageKey{ID: proto.String("WAGW00000000000000A1")}}})
	if !isPollVote(vote) {
		t.Fatal("not seen as a vote")
	}
	yes := []byte{0x01, 0x02}
	out := pollVoteEvent(vote, &waE2E.PollVoteMessage{SelectedOptions: [][]byte{yes}})
	want := map[string]any{"poll_vote": map[string]any{"wa_message_id": "WAGW00000000000000A1",
		"option_hashes": []string{hex.EncodeToString(yes)}}, "sender_phone": "15552223333"}
	if out.Data["type"] != "poll_vote" || !reflect.DeepEqual(out.Data["parts"], want) {
		t.Fatalf("got %#v", out.Data)
	}
}
