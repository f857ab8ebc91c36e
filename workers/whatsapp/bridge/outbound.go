package main

// What a send asks for, built as WhatsApp's message and sent with the id derived from the platform's
// message id (`SendRequestExtra.ID`): a send repeated after a failover or a redelivery is the same message
// to WhatsApp. Mirrors the neonize adapter's building (neonize_mapping.py, neonize_outbound.py); files are
// fetched from their URL and uploaded with whatsmeow's Upload, as they are (no conversion: a voice note
// must already be OGG/Opus).

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Sender is the part of whatsmeow's client a send needs (a recorder stands in for it in the tests).
type Sender interface {
	SendMessage(ctx context.Context, to types.JID, message *waE2E.Message, extra ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error)
	Upload(ctx context.Context, plaintext []byte, appInfo whatsmeow.MediaType) (whatsmeow.UploadResponse, error)
	BuildPollCreation(name string, optionNames []string, selectableOptionCount int) *waE2E.Message
}

// Outbound is the worker's `Outbound` (client.py) as the send op carries it.
type Outbound struct {
	Type     string         `json:"type"`
	Text     string         `json:"text"`
	Media    *MediaPart     `json:"media"`
	Location map[string]any `json:"location"`
	Contact  map[string]any `json:"contact"`
	Poll     *PollPart      `json:"poll"`
	Emoji    string         `json:"emoji"`
	Target   string         `json:"target_wa_message_id"`
	// The reaction's target is one of this session's sends (else one it received).
	TargetOurs bool   `json:"target_ours"`
	Quoted     string `json:"quoted_wa_message_id"`
}

type MediaPart struct {
	URL      string `json:"url"`
	Mimetype string `json:"mimetype"`
	Filename string `json:"filename"`
	PTT      bool   `json:"ptt"`
}

type PollPart struct {
	Name            string   `json:"name"`
	Options         []string `json:"options"`
	SelectableCount int      `json:"selectable_count"`
}

// MaxMediaBytes bounds a file fetched for a send (WhatsApp's own limit for documents is 2 GB; ours is lower).
var MaxMediaBytes int64 = 100 << 20

var mediaTypes = map[string]whatsmeow.MediaType{
	"image": whatsmeow.MediaImage, "sticker": whatsmeow.MediaImage, "video": whatsmeow.MediaVideo,
	"audio": whatsmeow.MediaAudio, "document": whatsmeow.MediaDocument,
}

// Send builds `message` and sends it to `to` with the id `id`; returns the id WhatsApp accepted it with.
func Send(ctx context.Context, client Sender, to types.JID, message Outbound, id string) (string, error) {
	built, err := Build(ctx, client, to, message)
	if err != nil {
		return "", fail(ErrSendRefused, fmt.Sprintf("%s not sent: %v", message.Type, err))
	}
	response, err := client.SendMessage(ctx, to, built, whatsmeow.SendRequestExtra{ID: types.MessageID(id)})
	if err != nil {
		return "", fail(ErrSendRefused, err.Error())
	}
	return string(response.ID), nil
}

// Build makes WhatsApp's message for `message` (uploading a file first), a reply's quote included.
func Build(ctx context.Context, client Sender, to types.JID, message Outbound) (*waE2E.Message, error) {
	var built *waE2E.Message
	switch message.Type {
	case "text":
		built = &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String(message.Text)}}
	case "location":
		built = locationMessage(message.Location)
	case "contact":
		built = contactMessage(message.Contact)
	case "reaction":
		return reactionMessage(to, message), nil
	case "poll":
		if message.Poll == nil {
			return nil, fmt.Errorf("a poll without its poll")
		}
		selectable := 0 // whatsmeow knows one choice or any number; 2..n-1 is sent as any number
		if message.Poll.SelectableCount == 1 {
			selectable = 1
		}
		built = client.BuildPollCreation(message.Poll.Name, message.Poll.Options, selectable)
	default:
		kind, isMedia := mediaTypes[message.Type]
		if !isMedia {
			return nil, fmt.Errorf("no such message type")
		}
		var err error
		if built, err = mediaMessage(ctx, client, kind, message); err != nil {
			return nil, err
		}
	}
	return quote(built, message.Quoted), nil
}

func locationMessage(place map[string]any) *waE2E.Message {
	number := func(key string) *float64 { value, _ := place[key].(float64); return proto.Float64(value) }
	text := func(key string) *string { value, _ := place[key].(string); return proto.String(value) }
	return &waE2E.Message{LocationMessage: &waE2E.LocationMessage{
		DegreesLatitude: number("latitude"), DegreesLongitude: number("longitude"),
		Name: text("name"), Address: text("address")}}
}

func contactMessage(card map[string]any) *waE2E.Message {
	name, _ := card["name"].(string)
	phone, _ := card["phone"].(string)
	digits := strings.TrimLeft(phone, "+")
	vcard := fmt.Sprintf("BEGIN:VCARD\nVERSION:3.0\nFN:%s\nTEL;type=CELL;waid=%s:+%s\nEND:VCARD", name, digits, digits)
	return &waE2E.Message{ContactMessage: &waE2E.ContactMessage{DisplayName: proto.String(name), Vcard: proto.String(vcard)}}
}

func reactionMessage(chat types.JID, message Outbound) *waE2E.Message {
	key := &waCommon.MessageKey{RemoteJID: proto.String(chat.String()), ID: proto.String(message.Target),
		FromMe: proto.Bool(message.TargetOurs)}
	return &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{Key: key, Text: proto.String(message.Emoji),
		SenderTimestampMS: proto.Int64(time.Now().UnixMilli())}}
}

func mediaMessage(ctx context.Context, client Sender, kind whatsmeow.MediaType, message Outbound) (*waE2E.Message, error) {
	part := message.Media
	if part == nil || part.URL == "" {
		return nil, fmt.Errorf("no media (its url) to send")
	}
	data, sniffed, err := fetchMedia(ctx, part.URL)
	if err != nil {
		return nil, err
	}
	mimetype := part.Mimetype
	if mimetype == "" {
		mimetype = sniffed
	}
	up, err := client.Upload(ctx, data, kind)
	if err != nil {
		return nil, fmt.Errorf("upload to WhatsApp failed: %w", err)
	}
	caption := proto.String(message.Text)
	switch message.Type {
	case "image":
		return &waE2E.Message{ImageMessage: &waE2E.ImageMessage{Caption: caption, Mimetype: proto.String(mimetype),
			URL: &up.URL, DirectPath: &up.DirectPath, MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256,
			FileSHA256: up.FileSHA256, FileLength: &up.FileLength}}, nil
	case "sticker":
		return &waE2E.Message{StickerMessage: &waE2E.StickerMessage{Mimetype: proto.String("image/webp"),
			URL: &up.URL, DirectPath: &up.DirectPath, MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256,
			FileSHA256: up.FileSHA256, FileLength: &up.FileLength}}, nil
	case "video":
		return &waE2E.Message{VideoMessage: &waE2E.VideoMessage{Caption: caption, Mimetype: proto.String(mimetype),
			URL: &up.URL, DirectPath: &up.DirectPath, MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256,
			FileSHA256: up.FileSHA256, FileLength: &up.FileLength}}, nil
	case "audio":
		return &waE2E.Message{AudioMessage: &waE2E.AudioMessage{PTT: proto.Bool(part.PTT), Mimetype: proto.String(mimetype),
			URL: &up.URL, DirectPath: &up.DirectPath, MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256,
			FileSHA256: up.FileSHA256, FileLength: &up.FileLength}}, nil
	}
	return &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{Caption: caption, Mimetype: proto.String(mimetype),
		FileName: proto.String(part.Filename), Title: proto.String(part.Filename),
		URL: &up.URL, DirectPath: &up.DirectPath, MediaKey: up.MediaKey, FileEncSHA256: up.FileEncSHA256,
		FileSHA256: up.FileSHA256, FileLength: &up.FileLength}}, nil
}

var mediaHTTP = &http.Client{Timeout: 2 * time.Minute}

// fetchMedia reads a file to send from its URL (the platform's media store, or the customer's link).
func fetchMedia(ctx context.Context, url string) ([]byte, string, error) {
	request, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, "", fmt.Errorf("bad media URL: %w", err)
	}
	response, err := mediaHTTP.Do(request)
	if err != nil {
		return nil, "", fmt.Errorf("media not fetched: %w", err)
	}
	defer response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("media not fetched: HTTP %d", response.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(response.Body, MaxMediaBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("media not fetched: %w", err)
	}
	if int64(len(data)) > MaxMediaBytes {
		return nil, "", fmt.Errorf("media larger than %d bytes", MaxMediaBytes)
	}
	sniffed := response.Header.Get("Content-Type")
	if sniffed == "" || sniffed == "application/octet-stream" {
		sniffed = http.DetectContentType(data)
	}
	return data, sniffed, nil
}

// quote makes `message` a reply to the message `quoted` (its populated part carries the context).
func quote(message *waE2E.Message, quoted string) *waE2E.Message {
	if quoted == "" {
		return message
	}
	reflected := message.ProtoReflect()
	reflected.Range(func(field protoreflect.FieldDescriptor, value protoreflect.Value) bool {
		if field.Message() == nil {
			return true
		}
		contextField := field.Message().Fields().ByName("contextInfo")
		if contextField == nil {
			return true
		}
		part := value.Message()
		info := part.Mutable(contextField).Message().Interface().(*waE2E.ContextInfo)
		info.StanzaID = proto.String(quoted)
		return false
	})
	return message
}
