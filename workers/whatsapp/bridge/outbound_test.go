package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// recorder stands in for whatsmeow's client: what was uploaded and sent, and with which extras.
type recorder struct {
	sent     []*waE2E.Message
	to       []types.JID
	extras   [][]whatsmeow.SendRequestExtra
	uploaded [][]byte
	refuse   error
}

func (r *recorder) SendMessage(_ context.Context, to types.JID, m *waE2E.Message, extra ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error) {
	r.sent, r.to, r.extras = append(r.sent, m), append(r.to, to), append(r.extras, extra)
	if r.refuse != nil {
		return whatsmeow.SendResponse{}, r.refuse
	}
	id := types.MessageID("3EB0RANDOM")
	if len(extra) > 0 && extra[0].ID != "" {
		id = extra[0].ID // as whatsmeow does: the id asked for is the id sent
	}
	return whatsmeow.SendResponse{ID: id}, nil
}

func (r *recorder) Upload(_ context.Context, data []byte, _ whatsmeow.MediaType) (whatsmeow.UploadResponse, error) {
	r.uploaded = append(r.uploaded, data)
	return whatsmeow.UploadResponse{URL: "https://mmg.whatsapp.net/x", DirectPath: "/x", MediaKey: []byte{9},
		FileSHA256: []byte{8}, FileEncSHA256: []byte{7}, FileLength: uint64(len(data))}, nil
}

func (r *recorder) BuildPollCreation(name string, options []string, selectable int) *waE2E.Message {
	poll := &waE2E.PollCreationMessage{Name: proto.String(name), SelectableOptionsCount: proto.Uint32(uint32(selectable))}
	for _, option := range options {
		poll.Options = append(poll.Options, &waE2E.PollCreationMessage_Option{OptionName: proto.String(option)})
	}
	return &waE2E.Message{PollCreationMessageV3: poll}
}

func fileServer(t *testing.T) string {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write([]byte("\x89PNG file bytes"))
	}))
	t.Cleanup(server.Close)
	return server.URL
}

func TestEverySendCarriesTheDerivedIDAsSendRequestExtraID(t *testing.T) {
	files := fileServer(t)
	messages := []Outbound{
		{Type: "text", Text: "hello"},
		{Type: "image", Text: "cat", Media: &MediaPart{URL: files + "/cat.png"}},
		{Type: "video", Media: &MediaPart{URL: files + "/v", Mimetype: "video/mp4"}},
		{Type: "audio", Media: &MediaPart{URL: files + "/a", Mimetype: "audio/ogg; codecs=opus", PTT: true}},
		{Type: "document", Media: &MediaPart{URL: files + "/d", Filename: "a.pdf", Mimetype: "application/pdf"}},
		{Type: "sticker", Media: &MediaPart{URL: files + "/s"}},
		{Type: "location", Location: map[string]any{"latitude": 1.5, "longitude": 2.5}},
		{Type: "contact", Contact: map[string]any{"name": "Ann", "phone": "+4915112345678"}},
		{Type: "poll", Poll: &PollPart{Name: "Lunch?", Options: []string{"yes", "no"}, SelectableCount: 1}},
		{Type: "reaction", Emoji: "👍", Target: "WAGW00000000000000A1", TargetOurs: true},
	}
	for _, message := range messages {
		client := &recorder{}
		id, err := Send(context.Background(), client, contact, message, "WAGW0123456789ABCDEF")
		if err != nil {
			t.Fatalf("%s: %v", message.Type, err)
		}
		if id != "WAGW0123456789ABCDEF" || len(client.extras) != 1 || len(client.extras[0]) != 1 ||
			client.extras[0][0].ID != "WAGW0123456789ABCDEF" {
			t.Errorf("%s: sent as %q with extras %#v", message.Type, id, client.extras)
		}
	}
}

func TestTheMessageBuiltForEachType(t *testing.T) {
	files := fileServer(t)
	client := &recorder{}
	build := func(m Outbound) *waE2E.Message {
		built, err := Build(context.Background(), client, contact, m)
		if err != nil {
			t.Fatalf("%s: %v", m.Type, err)
		}
		return built
	}
	if got := build(Outbound{Type: "text", Text: "hi"}).GetExtendedTextMessage().GetText(); got != "hi" {
		t.Errorf("text: %q", got)
	}
	image := build(Outbound{Type: "image", Text: "cat", Media: &MediaPart{URL: files + "/cat.png"}}).GetImageMessage()
	if image.GetCaption() != "cat" || image.GetMimetype() != "image/png" || image.GetDirectPath() != "/x" ||
		string(client.uploaded[0]) != "\x89PNG file bytes" || image.GetFileLength() != uint64(len(client.uploaded[0])) {
		t.Errorf("image: %v", image)
	}
	voice := build(Outbound{Type: "audio", Media: &MediaPart{URL: files + "/a", Mimetype: "audio/ogg; codecs=opus", PTT: true}}).GetAudioMessage()
	if !voice.GetPTT() || voice.GetMimetype() != "audio/ogg; codecs=opus" {
		t.Errorf("voice note: %v", voice)
	}
	document := build(Outbound{Type: "document", Text: "read", Media: &MediaPart{URL: files + "/d", Filename: "a.pdf"}}).GetDocumentMessage()
	if document.GetFileName() != "a.pdf" || document.GetCaption() != "read" {
		t.Errorf("document: %v", document)
	}
	if sticker := build(Outbound{Type: "sticker", Media: &MediaPart{URL: files + "/s"}}).GetStickerMessage(); sticker.GetMimetype() != "image/webp" {
		t.Errorf("sticker: %v", sticker)
	}
	place := build(Outbound{Type: "location", Location: map[string]any{"latitude": 1.5, "longitude": 2.5, "name": "Here"}}).GetLocationMessage()
	if place.GetDegreesLatitude() != 1.5 || place.GetDegreesLongitude() != 2.5 || place.GetName() != "Here" {
		t.Errorf("location: %v", place)
	}
	card := build(Outbound{Type: "contact", Contact: map[string]any{"name": "Ann", "phone": "+4915112345678"}}).GetContactMessage()
	if card.GetDisplayName() != "Ann" || card.GetVcard() != "BEGIN:VCARD\nVERSION:3.0\nFN:Ann\nTEL;type=CELL;waid=4915112345678:+4915112345678\nEND:VCARD" {
		t.Errorf("contact: %v", card)
	}
	if poll := build(Outbound{Type: "poll", Poll: &PollPart{Name: "Q", Options: []string{"a", "b", "c"}, SelectableCount: 2}}).GetPollCreationMessageV3(); poll.GetSelectableOptionsCount() != 0 || len(poll.GetOptions()) != 3 {
		t.Errorf("a poll of 2 of 3 choices is sent as any number: %v", poll)
	}
	reaction := build(Outbound{Type: "reaction", Emoji: "👍", Target: "WAGW00000000000000A1", TargetOurs: true}).GetReactionMessage()
	if reaction.GetKey().GetID() != "WAGW00000000000000A1" || !reaction.GetKey().GetFromMe() ||
		reaction.GetKey().GetRemoteJID() != "15552223333@s.whatsapp.net" || reaction.GetText() != "👍" {
		t.Errorf("reaction: %v", reaction)
	}
}

func TestAReplyQuotesItsTargetInThePartItSends(t *testing.T) {
	files := fileServer(t)
	client := &recorder{}
	text, _ := Build(context.Background(), client, contact, Outbound{Type: "text", Text: "yes", Quoted: "WAGW00000000000000A1"})
	image, _ := Build(context.Background(), client, contact, Outbound{Type: "image", Media: &MediaPart{URL: files + "/i"}, Quoted: "3EB0X"})
	if text.GetExtendedTextMessage().GetContextInfo().GetStanzaID() != "WAGW00000000000000A1" ||
		image.GetImageMessage().GetContextInfo().GetStanzaID() != "3EB0X" {
		t.Fatalf("quotes: %v / %v", text, image)
	}
}

func TestWhatCannotBeSentIsRefusedWithAReason(t *testing.T) {
	files := fileServer(t)
	cases := map[string]Outbound{
		"media not fetched: HTTP 404": {Type: "image", Media: &MediaPart{URL: files + "/missing"}},
		"no media (its url) to send":  {Type: "image"},
		"no such message type":        {Type: "hologram"},
	}
	for reason, message := range cases {
		client := &recorder{}
		_, err := Send(context.Background(), client, contact, message, "WAGW0123456789ABCDEF")
		var failure *Failure
		if !errors.As(err, &failure) || failure.Type != ErrSendRefused || !strings.Contains(failure.Message, reason) || len(client.sent) != 0 {
			t.Errorf("%s: got %v, sent %d", reason, err, len(client.sent))
		}
	}
	client := &recorder{refuse: errors.New("server returned error 479")}
	if _, err := Send(context.Background(), client, contact, Outbound{Type: "text", Text: "x"}, "WAGW0123456789ABCDEF"); err == nil ||
		asFailure(err).Type != ErrSendRefused {
		t.Errorf("WhatsApp's refusal: %v", err)
	}
}
