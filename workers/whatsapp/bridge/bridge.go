package main

// The sessions this program holds (one whatsmeow client each, their credentials in whatsmeow's SQL store)
// and the ops the worker asks of them.

import (
	"context"
	"encoding/base64"
	"sync"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

type Bridge struct {
	store *sqlstore.Container
	lines *Lines

	mu       sync.Mutex
	sessions map[string]*Session
}

func NewBridge(container *sqlstore.Container, lines *Lines) *Bridge {
	return &Bridge{store: container, lines: lines, sessions: map[string]*Session{}}
}

func (b *Bridge) held(id string) (*Session, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, found := b.sessions[id]
	if !found {
		return nil, fail(ErrUnknownSession, "session "+id+" is not connected here")
	}
	return s, nil
}

func (b *Bridge) take(id string) *Session {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.sessions[id]
	delete(b.sessions, id)
	return s
}

// device is the stored device of `key` (the worker's directory), or a new one to link when key is empty;
// nil when the key names a device the store no longer has (unlinked meanwhile).
func (b *Bridge) device(ctx context.Context, key string) (*store.Device, error) {
	if key == "" {
		return b.store.NewDevice(), nil
	}
	jid, err := JIDFromDeviceKey(key)
	if err != nil {
		return nil, fail(ErrBadRequest, err.Error())
	}
	return b.store.GetDevice(ctx, jid)
}

type deviceArgs struct {
	DeviceKey string `json:"device_key"`
}

func (b *Bridge) connect(req Request) (any, error) {
	var args deviceArgs
	if err := decode(req, &args); err != nil {
		return nil, err
	}
	if req.Session == "" {
		return nil, fail(ErrBadRequest, "connect needs a session")
	}
	device, err := b.device(context.Background(), args.DeviceKey)
	if err != nil {
		return nil, err
	}
	if device == nil {
		b.lines.Event(req.Session, "logged_out", map[string]any{"reason": "the device's credentials are no longer stored"})
		return nil, nil
	}
	if previous := b.take(req.Session); previous != nil {
		previous.close()
	}
	s := newSession(req.Session, whatsmeow.NewClient(device, libraryLog{"client"}), b.lines)
	b.mu.Lock()
	b.sessions[req.Session] = s
	b.mu.Unlock()
	logger.Info("whatsapp.connecting", "session_id", req.Session, "linked", device.ID != nil)
	s.connect()
	return nil, nil
}

func (b *Bridge) disconnect(req Request) (any, error) {
	if s := b.take(req.Session); s != nil {
		s.close()
	}
	return nil, nil
}

// logout unlinks the device (WhatsApp tells the phone) and deletes its credentials even when WhatsApp
// cannot be told: the customer asked, and the phone can unlink it itself.
func (b *Bridge) logout(req Request) (any, error) {
	var args deviceArgs
	if err := decode(req, &args); err != nil {
		return nil, err
	}
	s := b.take(req.Session)
	if s == nil {
		device, err := b.device(context.Background(), args.DeviceKey)
		if err != nil || device == nil || device.ID == nil {
			return map[string]any{"unlinked": false}, err
		}
		s = &Session{id: req.Session, client: whatsmeow.NewClient(device, libraryLog{"client"}), stop: func() {}}
		_ = s.client.Connect()
	}
	defer s.close()
	ctx := context.Background()
	if s.client.Store.ID == nil { // never linked (still showing QR codes): nothing to unlink or delete
		return map[string]any{"unlinked": false}, nil
	}
	if err := s.client.Logout(ctx); err != nil {
		logger.Warn("whatsapp.unlink_failed", "session_id", req.Session, "error", err.Error())
		if deleted := s.client.Store.Delete(ctx); deleted != nil {
			return nil, fail(ErrFailed, "credentials not deleted: "+deleted.Error())
		}
		return map[string]any{"unlinked": false}, nil
	}
	return map[string]any{"unlinked": true}, nil
}

func (b *Bridge) pairPhone(req Request) (any, error) {
	var args struct {
		Phone string `json:"phone"`
	}
	s, err := b.sessionAnd(req, &args)
	if err != nil {
		return nil, err
	}
	code, err := s.client.PairPhone(context.Background(), args.Phone, true, whatsmeow.PairClientChrome, "Chrome (Linux)")
	if err != nil {
		return nil, fail(ErrPairingRefused, err.Error())
	}
	return map[string]any{"code": code}, nil
}

func (b *Bridge) send(req Request) (any, error) {
	var args struct {
		To      string   `json:"to"`
		Message Outbound `json:"message"`
		ID      string   `json:"id"`
	}
	s, err := b.sessionAnd(req, &args)
	if err != nil {
		return nil, err
	}
	if args.ID == "" {
		return nil, fail(ErrBadRequest, "a send needs its id")
	}
	to, err := ParseJID(args.To)
	if err != nil {
		return nil, err
	}
	sent, err := Send(context.Background(), s.client, to, args.Message, args.ID)
	if err != nil {
		logger.Warn("whatsapp.send_refused", "session_id", req.Session, "wa_message_id", args.ID, "type", args.Message.Type)
		return nil, err
	}
	logger.Info("whatsapp.sent", "session_id", req.Session, "wa_message_id", sent, "type", args.Message.Type)
	return map[string]any{"id": sent}, nil
}

type changeArgs struct {
	Chat string `json:"chat"`
	ID   string `json:"id"`
	Text string `json:"text"`
}

// change sends an edit or a revoke of one of this session's messages.
func (b *Bridge) change(req Request, build func(*whatsmeow.Client, types.JID, changeArgs) *waE2E.Message) (any, error) {
	var args changeArgs
	s, err := b.sessionAnd(req, &args)
	if err != nil {
		return nil, err
	}
	chat, err := ParseJID(args.Chat)
	if err != nil {
		return nil, err
	}
	if _, err := s.client.SendMessage(context.Background(), chat, build(s.client, chat, args)); err != nil {
		return nil, fail(ErrSendRefused, err.Error())
	}
	return nil, nil
}

func (b *Bridge) edit(req Request) (any, error) {
	return b.change(req, func(c *whatsmeow.Client, chat types.JID, args changeArgs) *waE2E.Message {
		return c.BuildEdit(chat, args.ID, &waE2E.Message{Conversation: proto.String(args.Text)})
	})
}

func (b *Bridge) revoke(req Request) (any, error) {
	return b.change(req, func(c *whatsmeow.Client, chat types.JID, args changeArgs) *waE2E.Message {
		return c.BuildRevoke(chat, types.EmptyJID, args.ID)
	})
}

func (b *Bridge) markRead(req Request) (any, error) {
	var args struct {
		Chat string `json:"chat"`
	}
	s, err := b.sessionAnd(req, &args)
	if err != nil {
		return nil, err
	}
	return nil, s.markRead(context.Background(), args.Chat)
}

func (b *Bridge) presence(req Request) (any, error) {
	var args struct {
		Presence string `json:"presence"`
		Chat     string `json:"chat"`
	}
	s, err := b.sessionAnd(req, &args)
	if err != nil {
		return nil, err
	}
	return nil, s.presence(context.Background(), args.Presence, args.Chat)
}

// download fetches and decrypts a received file from WhatsApp's media servers, by its `media_ref`.
func (b *Bridge) download(req Request) (any, error) {
	var args struct {
		MediaRef string `json:"media_ref"`
	}
	s, err := b.sessionAnd(req, &args)
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(args.MediaRef)
	message := &waE2E.Message{}
	if err == nil {
		err = proto.Unmarshal(raw, message)
	}
	if err != nil {
		return nil, fail(ErrBadRequest, "not a media_ref: "+err.Error())
	}
	data, err := s.client.DownloadAny(context.Background(), message)
	if err != nil {
		return nil, fail(ErrFailed, "not downloaded: "+err.Error())
	}
	return map[string]any{"data": base64.StdEncoding.EncodeToString(data)}, nil
}

// sessionAnd: the request's session and its args.
func (b *Bridge) sessionAnd(req Request, args any) (*Session, error) {
	if err := decode(req, args); err != nil {
		return nil, err
	}
	return b.held(req.Session)
}

// Close disconnects every session (their credentials stay in the store).
func (b *Bridge) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, s := range b.sessions {
		s.close()
		delete(b.sessions, id)
	}
}
