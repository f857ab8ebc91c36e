package main

// Logs go to stderr as JSON lines (stdout is the protocol). They name sessions, devices and message ids,
// never keys, QR codes or message texts. whatsmeow's own warnings and errors are kept, its chatter dropped.

import (
	"fmt"
	"log/slog"
	"os"

	waLog "go.mau.fi/whatsmeow/util/log"
)

var logger = slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("service", "whatsmeow-bridge")

type libraryLog struct{ module string }

func (l libraryLog) Warnf(msg string, args ...any) {
	logger.Warn("whatsmeow.warning", "module", l.module, "detail", fmt.Sprintf(msg, args...))
}

func (l libraryLog) Errorf(msg string, args ...any) {
	logger.Error("whatsmeow.error", "module", l.module, "detail", fmt.Sprintf(msg, args...))
}

func (libraryLog) Infof(string, ...any)  {}
func (libraryLog) Debugf(string, ...any) {}

func (l libraryLog) Sub(module string) waLog.Logger { return libraryLog{l.module + "/" + module} }
