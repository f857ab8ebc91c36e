package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// serve runs the program's real ops table (no store needed for these) over the given lines.
func serve(t *testing.T, input ...string) []map[string]any {
	var out bytes.Buffer
	bridge := NewBridge(nil, NewLines(&out))
	Serve(strings.NewReader(strings.Join(input, "\n")+"\n"), bridge.lines, bridge.Ops())
	var replies []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var reply map[string]any
		if err := json.Unmarshal([]byte(line), &reply); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		replies = append(replies, reply)
	}
	return replies
}

func errorOf(reply map[string]any) string {
	failure, _ := reply["error"].(map[string]any)
	kind, _ := failure["type"].(string)
	return kind
}

func TestBadLinesGetTypedErrorsAndTheProgramKeepsServing(t *testing.T) {
	replies := serve(t,
		`not json`,
		`{"op": "send"}`,
		`{"id": 1, "op": "teleport", "session": "s_1"}`,
		`{"id": 2, "op": "send", "session": "s_9", "args": {"to": "1555", "id": "WAGW0123456789ABCDEF", "message": {"type": "text"}}}`,
		`{"id": 3, "op": "send", "session": "s_1", "args": "not an object"}`,
		`{"id": 4, "op": "disconnect", "session": "s_1"}`,
	)
	if len(replies) != 6 {
		t.Fatalf("replies: %v", replies)
	}
	byID := map[any]map[string]any{}
	for _, reply := range replies {
		byID[reply["id"]] = reply
	}
	if errorOf(replies[0]) != ErrBadRequest || errorOf(replies[1]) != ErrBadRequest || replies[0]["id"] != nil {
		t.Errorf("unreadable lines: %v %v", replies[0], replies[1])
	}
	if errorOf(byID[1.0]) != ErrUnknownOp {
		t.Errorf("unknown op: %v", byID[1.0])
	}
	if errorOf(byID[2.0]) != ErrUnknownSession {
		t.Errorf("unknown session: %v", byID[2.0])
	}
	if errorOf(byID[3.0]) != ErrBadRequest {
		t.Errorf("bad args: %v", byID[3.0])
	}
	if result, ok := byID[4.0]["result"]; !ok || byID[4.0]["error"] != nil {
		t.Errorf("the program stopped serving: %v (%v)", byID[4.0], result)
	}
}

func TestAnOpThatPanicsFailsAloneAndTheProgramKeepsServing(t *testing.T) {
	var out bytes.Buffer
	lines := NewLines(&out)
	ops := map[string]Handler{
		"crash": func(Request) (any, error) { var nothing *Session; return nothing.id, nil },
		"echo":  func(Request) (any, error) { return map[string]any{"ok": true}, nil },
	}
	Serve(strings.NewReader("{\"id\": 1, \"op\": \"crash\"}\n{\"id\": 2, \"op\": \"echo\"}\n"), lines, ops)
	text := out.String()
	if !strings.Contains(text, `"id":1,"error":{"type":"failed","message":"internal error in crash`) ||
		!strings.Contains(text, `"id":2,"result":{"ok":true}`) {
		t.Fatalf("got %s", text)
	}
}

func TestAFailureOfWhatsmeowIsTypedFailed(t *testing.T) {
	if got := asFailure(errString("boom")); got.Type != ErrFailed || got.Message != "boom" {
		t.Fatalf("got %#v", got)
	}
}

type errString string

func (e errString) Error() string { return string(e) }
