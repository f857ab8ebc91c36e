package main

// One session's whatsmeow client: connecting (QR codes as events), its events told to the worker, and
// what was received since the chat was last marked read.

import (
	"context"
	"sync"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

// UnreadMemory bounds the received ids kept per chat until it is marked read.
const UnreadMemory = 1000

type unreadMessage struct {
	chat, sender types.JID
	id           types.MessageID
}

type Session struct {
	id     string
	client *whatsmeow.Client
	lines  *Lines
	stop   context.CancelFunc // ends the QR channel's wait

	mu     sync.Mutex
	unread map[string][]unreadMessage // by the chat as reported to the worker
}

func newSession(id string, client *whatsmeow.Client, lines *Lines) *Session {
	s := &Session{id: id, client: client, lines: lines, stop: func() {}, unread: map[string][]unreadMessage{}}
	client.AddEventHandler(s.handle)
	return s
}

func (s *Session) emit(out Outgoing) { s.lines.Event(s.id, out.Name, out.Data) }

// connect opens the connection; a device not linked yet shows QR codes first. A connection that cannot
// be made is told as `connection_failed` (the worker then reports the session down, never waits).
func (s *Session) connect() {
	if s.client.Store.ID == nil {
		ctx, stop := context.WithCancel(context.Background())
		s.stop = stop
		codes, err := s.client.GetQRChannel(ctx)
		if err != nil {
			stop()
			s.emit(failed("no QR codes: " + err.Error()))
			return
		}
		go s.showCodes(codes)
	}
	if err := s.client.Connect(); err != nil {
		logger.Warn("whatsapp.connect_failed", "session_id", s.id, "error", err.Error())
		s.stop()
		s.emit(failed("WhatsApp cannot be reached: " + err.Error()))
	}
}

func (s *Session) showCodes(codes <-chan whatsmeow.QRChannelItem) {
	for item := range codes {
		switch item.Event {
		case whatsmeow.QRChannelEventCode:
			s.emit(Outgoing{"qr", map[string]any{"code": item.Code, "ttl_seconds": item.Timeout.Seconds()}})
		case whatsmeow.QRChannelTimeout.Event:
			s.emit(failed("no QR code was scanned in time"))
		case whatsmeow.QRChannelEventError:
			s.emit(failed("linking failed: " + item.Error.Error()))
		case whatsmeow.QRChannelSuccess.Event:
		default:
			s.emit(failed("linking failed: " + item.Event))
		}
	}
}

func (s *Session) close() {
	s.stop()
	s.client.Disconnect()
}

func (s *Session) own() types.JID {
	if s.client.Store.ID == nil {
		return types.JID{}
	}
	return *s.client.Store.ID
}

// handle is whatsmeow's event handler (called on its event loop, one event at a time).
func (s *Session) handle(raw any) {
	if message, isMessage := raw.(*events.Message); isMessage {
		s.received(message)
		return
	}
	if out, known := connectionEvent(raw, s.own()); known {
		s.emit(out)
	}
}

func (s *Session) received(evt *events.Message) {
	if isPollVote(evt) {
		vote, err := s.client.DecryptPollVote(context.Background(), evt)
		if err != nil {
			logger.Warn("whatsapp.vote_not_decrypted", "session_id", s.id, "wa_message_id", evt.Info.ID, "error", err.Error())
			return
		}
		s.emit(pollVoteEvent(evt, vote))
		return
	}
	out, known := messageEvent(evt)
	if !known {
		return
	}
	if out.Name == "message" {
		s.remember(out.Data["chat"].(string), unreadMessage{evt.Info.Chat, evt.Info.Sender, evt.Info.ID})
	}
	s.emit(out)
}

func (s *Session) remember(chat string, message unreadMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := append(s.unread[chat], message)
	if len(kept) > UnreadMemory {
		kept = kept[len(kept)-UnreadMemory:]
	}
	s.unread[chat] = kept
}

// markRead marks what the chat's contact sent since the last time read: a group's, one receipt per member.
func (s *Session) markRead(ctx context.Context, chat string) error {
	s.mu.Lock()
	pending := s.unread[chat]
	delete(s.unread, chat)
	s.mu.Unlock()
	bySender := map[types.JID][]unreadMessage{}
	var order []types.JID
	for _, message := range pending {
		if _, seen := bySender[message.sender]; !seen {
			order = append(order, message.sender)
		}
		bySender[message.sender] = append(bySender[message.sender], message)
	}
	for _, sender := range order {
		messages := bySender[sender]
		ids := make([]types.MessageID, 0, len(messages))
		for _, message := range messages {
			ids = append(ids, message.id)
		}
		if err := s.client.MarkRead(ctx, ids, time.Now(), messages[0].chat, sender); err != nil {
			return err
		}
	}
	return nil
}

var chatPresences = map[string][2]string{
	"typing":    {string(types.ChatPresenceComposing), string(types.ChatPresenceMediaText)},
	"recording": {string(types.ChatPresenceComposing), string(types.ChatPresenceMediaAudio)},
	"paused":    {string(types.ChatPresencePaused), string(types.ChatPresenceMediaText)},
}

var sessionPresences = map[string]types.Presence{
	"available": types.PresenceAvailable, "unavailable": types.PresenceUnavailable,
}

func (s *Session) presence(ctx context.Context, presence, chat string) error {
	if state, isSession := sessionPresences[presence]; isSession {
		return s.client.SendPresence(ctx, state)
	}
	state, known := chatPresences[presence]
	if !known {
		return fail(ErrBadRequest, "no presence "+presence)
	}
	to, err := ParseJID(chat)
	if err != nil {
		return err
	}
	return s.client.SendChatPresence(ctx, to, types.ChatPresence(state[0]), types.ChatPresenceMedia(state[1]))
}
