package main

// The line protocol with the worker, one JSON object per line (documented in README.md):
//
//	request  {"id": 7, "op": "send", "session": "s_1", "args": {...}}
//	reply    {"id": 7, "result": {...}}  or  {"id": 7, "error": {"type": "send_refused", "message": "..."}}
//	event    {"event": "qr", "session": "s_1", "data": {...}}
//
// A line that cannot be read, an unknown op or an unknown session is answered with a typed error and
// the program keeps serving the others.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Error types a reply can carry. The refusals of the worker questions use the SDK's codes.
const (
	ErrBadRequest     = "bad_request"
	ErrUnknownOp      = "unknown_op"
	ErrUnknownSession = "unknown_session"
	ErrSendRefused    = "send_refused"
	ErrPairingRefused = "pairing_refused"
	ErrInvalid        = "invalid"
	ErrForbidden      = "forbidden"
	ErrNotFound       = "not_found"
	ErrFailed         = "failed"
)

// Request is one line from the worker.
type Request struct {
	ID      *int64          `json:"id"`
	Op      string          `json:"op"`
	Session string          `json:"session"`
	Args    json.RawMessage `json:"args"`
}

// Failure is a typed error told to the worker.
type Failure struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

func (f *Failure) Error() string { return f.Type + ": " + f.Message }

func fail(kind, message string) *Failure { return &Failure{Type: kind, Message: message} }

// asFailure types any error: a Failure as it is, anything else as `failed` with its text.
func asFailure(err error) *Failure {
	var typed *Failure
	if errors.As(err, &typed) {
		return typed
	}
	return fail(ErrFailed, err.Error())
}

type reply struct {
	ID     *int64   `json:"id"`
	Result any      `json:"result,omitempty"`
	Error  *Failure `json:"error,omitempty"`
}

type event struct {
	Event   string `json:"event"`
	Session string `json:"session,omitempty"`
	Data    any    `json:"data,omitempty"`
}

// Lines writes whole lines to the worker from any goroutine.
type Lines struct {
	mu  sync.Mutex
	out *json.Encoder
}

func NewLines(w io.Writer) *Lines { return &Lines{out: json.NewEncoder(w)} }

func (l *Lines) write(v any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.out.Encode(v) // the worker gone: nothing left to tell
}

func (l *Lines) Reply(id *int64, result any, err error) {
	if err != nil {
		l.write(reply{ID: id, Error: asFailure(err)})
		return
	}
	if result == nil {
		result = struct{}{}
	}
	l.write(reply{ID: id, Result: result})
}

func (l *Lines) Event(session, name string, data any) {
	l.write(event{Event: name, Session: session, Data: data})
}

// Handler answers one op: its args decoded by itself.
type Handler func(req Request) (any, error)

// Serve reads requests until the worker closes stdin; each is answered on its own goroutine (a send
// waiting for WhatsApp does not hold up the others).
func Serve(in io.Reader, lines *Lines, ops map[string]Handler) {
	scanner := bufio.NewScanner(in)
	scanner.Buffer(make([]byte, 64*1024), 64*1024*1024)
	var running sync.WaitGroup
	for scanner.Scan() {
		var req Request
		if err := json.Unmarshal(scanner.Bytes(), &req); err != nil {
			lines.Reply(nil, nil, fail(ErrBadRequest, "not a JSON request: "+err.Error()))
			continue
		}
		if req.ID == nil {
			lines.Reply(nil, nil, fail(ErrBadRequest, "a request needs an id"))
			continue
		}
		handle, known := ops[req.Op]
		if !known {
			lines.Reply(req.ID, nil, fail(ErrUnknownOp, "no op "+req.Op))
			continue
		}
		running.Add(1)
		go func() {
			defer running.Done()
			result, err := guarded(handle, req)
			lines.Reply(req.ID, result, err)
		}()
	}
	running.Wait()
}

// guarded runs one op; a panic in it (a bug, here or in whatsmeow) fails that op only, never the program
// and every session it holds.
func guarded(handle Handler, req Request) (result any, err error) {
	defer func() {
		if caught := recover(); caught != nil {
			logger.Error("bridge.op_panicked", "op", req.Op, "session_id", req.Session, "panic", fmt.Sprint(caught))
			result, err = nil, fail(ErrFailed, fmt.Sprintf("internal error in %s: %v", req.Op, caught))
		}
	}()
	return handle(req)
}

// decode reads a request's args into `into`; missing args are an empty object.
func decode(req Request, into any) error {
	if len(req.Args) == 0 {
		return nil
	}
	if err := json.Unmarshal(req.Args, into); err != nil {
		return fail(ErrBadRequest, "bad args for "+req.Op+": "+err.Error())
	}
	return nil
}
