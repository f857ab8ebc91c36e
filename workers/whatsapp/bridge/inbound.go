package main

// A message whatsmeow received in the protocol's terms, mirroring the neonize adapter's reading
// (neonize_inbound.py): an inbound message of the contract's type with its parts (media described and a
// `media_ref` to fetch it by, location, contact, reaction, poll, the quoted id of a reply, the number
// behind an `@lid` sender), or the sender's edit or deletion of an earlier one. Each type is one entry
// of `inboundTypes`. Poll votes are decrypted by whatsmeow first, then read by `pollVoteEvent`.

import (
	"encoding/base64"
	"encoding/hex"
	"regexp"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
)

// reading is one received type: its contract type, text and parts.
type reading struct {
	kind  string
	text  string
	parts map[string]any
}

type mediaPart interface {
	GetMimetype() string
	GetFileLength() uint64
	GetFileSHA256() []byte
}

func media(kind string, part mediaPart, caption, filename string, ptt bool) reading {
	described := map[string]any{
		"mimetype": nullable(part.GetMimetype()), "size": part.GetFileLength(),
		"sha256": nullable(hex.EncodeToString(part.GetFileSHA256())), "filename": nullable(filename), "ptt": ptt,
	}
	return reading{kind, caption, map[string]any{"media": described}}
}

func poll(name string, options []*waE2E.PollCreationMessage_Option, selectable uint32) reading {
	names := make([]string, 0, len(options))
	for _, option := range options {
		names = append(names, option.GetOptionName())
	}
	return reading{"poll", "", map[string]any{"poll": map[string]any{
		"name": name, "options": names, "selectable_count": selectable}}}
}

func pollReading(p *waE2E.PollCreationMessage) reading {
	return poll(p.GetName(), p.GetOptions(), p.GetSelectableOptionsCount())
}

// inboundTypes reads each received type; the first present wins. A reply's quote is read apart.
var inboundTypes = []func(m *waE2E.Message) (reading, bool){
	func(m *waE2E.Message) (reading, bool) {
		return reading{"text", m.GetConversation(), map[string]any{}}, m.Conversation != nil
	},
	func(m *waE2E.Message) (reading, bool) {
		return reading{"text", m.GetExtendedTextMessage().GetText(), map[string]any{}}, m.ExtendedTextMessage != nil
	},
	func(m *waE2E.Message) (reading, bool) {
		p := m.GetImageMessage()
		return media("image", p, p.GetCaption(), "", false), p != nil
	},
	func(m *waE2E.Message) (reading, bool) {
		p := m.GetVideoMessage()
		return media("video", p, p.GetCaption(), "", false), p != nil
	},
	func(m *waE2E.Message) (reading, bool) {
		p := m.GetAudioMessage()
		return media("audio", p, "", "", p.GetPTT()), p != nil
	},
	func(m *waE2E.Message) (reading, bool) {
		p := m.GetDocumentMessage()
		return media("document", p, p.GetCaption(), p.GetFileName(), false), p != nil
	},
	func(m *waE2E.Message) (reading, bool) {
		p := m.GetStickerMessage()
		return media("sticker", p, "", "", false), p != nil
	},
	func(m *waE2E.Message) (reading, bool) {
		p := m.GetLocationMessage()
		return reading{"location", "", map[string]any{"location": map[string]any{
			"latitude": p.GetDegreesLatitude(), "longitude": p.GetDegreesLongitude(),
			"name": nullable(p.GetName()), "address": nullable(p.GetAddress())}}}, p != nil
	},
	func(m *waE2E.Message) (reading, bool) {
		p := m.GetContactMessage()
		return reading{"contact", "", map[string]any{"contact": map[string]any{
			"name": p.GetDisplayName(), "phone": phoneInVcard(p.GetVcard())}}}, p != nil
	},
	func(m *waE2E.Message) (reading, bool) {
		p := m.GetReactionMessage()
		return reading{"reaction", "", map[string]any{"reaction": map[string]any{
			"wa_message_id": p.GetKey().GetID(), "emoji": p.GetText()}}}, p != nil
	},
	func(m *waE2E.Message) (reading, bool) {
		return pollReading(m.GetPollCreationMessage()), m.PollCreationMessage != nil
	},
	func(m *waE2E.Message) (reading, bool) {
		return pollReading(m.GetPollCreationMessageV2()), m.PollCreationMessageV2 != nil
	},
	func(m *waE2E.Message) (reading, bool) {
		return pollReading(m.GetPollCreationMessageV3()), m.PollCreationMessageV3 != nil
	},
}

var (
	waid      = regexp.MustCompile(`waid=([0-9]{6,15})`)
	telephone = regexp.MustCompile(`(?m)^TEL[^:\n]*:([+0-9 ()-]{6,32})$`)
	nonDigits = regexp.MustCompile(`[^0-9]`)
)

// phoneInVcard: the card's WhatsApp number (`waid=`, as the apps write it), else its first telephone's digits.
func phoneInVcard(vcard string) any {
	found := waid.FindStringSubmatch(vcard)
	if found == nil {
		found = telephone.FindStringSubmatch(vcard)
	}
	if found == nil {
		return nil
	}
	return nullable(nonDigits.ReplaceAllString(found[1], ""))
}

// unwrapped takes a message out of the envelopes WhatsApp puts around it (disappearing, view once, a
// captioned document, an edit); whatsmeow unwraps most of them already.
func unwrapped(m *waE2E.Message) *waE2E.Message {
	for _, inner := range []*waE2E.FutureProofMessage{
		m.GetEphemeralMessage(), m.GetViewOnceMessage(), m.GetViewOnceMessageV2(),
		m.GetViewOnceMessageV2Extension(), m.GetDocumentWithCaptionMessage(), m.GetEditedMessage(),
	} {
		if inner.GetMessage() != nil {
			return unwrapped(inner.GetMessage())
		}
	}
	return m
}

func jidText(jid types.JID) string {
	if jid.User == "" {
		return ""
	}
	return jid.User + "@" + jid.Server
}

// addressing: the chat as the platform names it (a 1:1 chat with an `@lid` is the phone's chat when
// whatsmeow knows the number), the sender, and the number behind an `@lid` sender.
func addressing(source types.MessageSource) (string, string, map[string]any) {
	chat := jidText(source.Chat)
	if !source.IsGroup && source.Chat.Server == types.HiddenUserServer && source.SenderAlt.User != "" {
		chat = jidText(source.SenderAlt)
	}
	extra := map[string]any{}
	if source.Sender.Server == types.HiddenUserServer && source.SenderAlt.Server == types.DefaultUserServer &&
		source.SenderAlt.User != "" {
		extra["sender_phone"] = source.SenderAlt.User
	}
	return chat, jidText(source.Sender), extra
}

func textOf(m *waE2E.Message) string {
	m = unwrapped(m)
	switch {
	case m.GetConversation() != "":
		return m.GetConversation()
	case m.ExtendedTextMessage != nil:
		return m.GetExtendedTextMessage().GetText()
	case m.ImageMessage != nil:
		return m.GetImageMessage().GetCaption()
	case m.VideoMessage != nil:
		return m.GetVideoMessage().GetCaption()
	case m.DocumentMessage != nil:
		return m.GetDocumentMessage().GetCaption()
	}
	return ""
}

func change(protocol *waE2E.ProtocolMessage) (Outgoing, bool) {
	switch protocol.GetType() {
	case waE2E.ProtocolMessage_REVOKE:
		return Outgoing{"deleted", map[string]any{"wa_message_id": protocol.GetKey().GetID()}}, true
	case waE2E.ProtocolMessage_MESSAGE_EDIT:
		if text := textOf(protocol.GetEditedMessage()); text != "" {
			return Outgoing{"edited", map[string]any{"wa_message_id": protocol.GetKey().GetID(), "text": text}}, true
		}
	}
	return Outgoing{}, false // key shares, history sync notices, ephemeral settings: no message of the chat
}

// isPollVote: whatsmeow must decrypt it (with the poll's secret from its store) before it can be read.
func isPollVote(evt *events.Message) bool {
	return !evt.Info.IsFromMe && evt.Message != nil && unwrapped(evt.Message).PollUpdateMessage != nil
}

// messageEvent reads a received message; false for our own echoes and what is no message of a chat.
func messageEvent(evt *events.Message) (Outgoing, bool) {
	if evt.Info.IsFromMe || evt.Message == nil {
		return Outgoing{}, false
	}
	m := unwrapped(evt.Message)
	if m.ProtocolMessage != nil {
		return change(m.ProtocolMessage)
	}
	chat, sender, extra := addressing(evt.Info.MessageSource)
	read := reading{"unsupported", "", map[string]any{}}
	for _, try := range inboundTypes {
		if found, ok := try(m); ok {
			read = found
			break
		}
	}
	for name, value := range extra {
		read.parts[name] = value
	}
	if quoted := quotedID(m); quoted != "" {
		read.parts["reply_to_wa_message_id"] = quoted
	}
	data := map[string]any{"wa_message_id": evt.Info.ID, "chat": chat, "sender": sender, "type": read.kind,
		"text": read.text, "parts": read.parts}
	if _, isMedia := read.parts["media"]; isMedia {
		data["media_ref"] = mediaRef(m)
	}
	return Outgoing{"message", data}, true
}

// quotedID: the id of the message this one replies to, from its part's context.
func quotedID(m *waE2E.Message) string {
	for _, info := range []*waE2E.ContextInfo{
		m.GetExtendedTextMessage().GetContextInfo(), m.GetImageMessage().GetContextInfo(),
		m.GetVideoMessage().GetContextInfo(), m.GetAudioMessage().GetContextInfo(),
		m.GetDocumentMessage().GetContextInfo(), m.GetStickerMessage().GetContextInfo(),
		m.GetLocationMessage().GetContextInfo(), m.GetContactMessage().GetContextInfo(),
	} {
		if info.GetStanzaID() != "" {
			return info.GetStanzaID()
		}
	}
	return ""
}

// mediaRef carries the received file's message (its keys and path, never its bytes) to the worker, which
// hands it back to `download` when it stores the file: no state kept here between the two.
func mediaRef(m *waE2E.Message) string {
	raw, _ := proto.Marshal(m)
	return base64.StdEncoding.EncodeToString(raw)
}

// pollVoteEvent reads a decrypted vote: the options by their hashes (the worker names them by the poll's
// options, recorded when the poll was sent or received).
func pollVoteEvent(evt *events.Message, vote *waE2E.PollVoteMessage) Outgoing {
	chat, sender, extra := addressing(evt.Info.MessageSource)
	hashes := make([]string, 0, len(vote.GetSelectedOptions()))
	for _, hashed := range vote.GetSelectedOptions() {
		hashes = append(hashes, hex.EncodeToString(hashed))
	}
	target := unwrapped(evt.Message).GetPollUpdateMessage().GetPollCreationMessageKey().GetID()
	parts := map[string]any{"poll_vote": map[string]any{"wa_message_id": target, "option_hashes": hashes}}
	for name, value := range extra {
		parts[name] = value
	}
	return Outgoing{"message", map[string]any{"wa_message_id": evt.Info.ID, "chat": chat, "sender": sender,
		"type": "poll_vote", "text": "", "parts": parts}}
}
