// wagw-whatsmeow: the WhatsApp worker's bridge to whatsmeow. It holds one whatsmeow client per session
// and speaks the line protocol of protocol.go with the worker over stdin and stdout (README.md). The
// credential store is WHATSAPP_STORE: a PostgreSQL URL, or a SQLite file; the same tables neonize's
// whatsmeow uses, so a session linked by either adapter is restored by the other.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	_ "github.com/lib/pq"
	_ "github.com/mattn/go-sqlite3"
	"go.mau.fi/whatsmeow/store/sqlstore"
)

// dialect and address of the store, as neonize opens it.
func storeAddress(store string) (string, string) {
	if strings.HasPrefix(store, "postgres://") || strings.HasPrefix(store, "postgresql://") {
		return "postgres", store
	}
	return "sqlite3", "file:" + store + "?_foreign_keys=on"
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		fmt.Println(Version)
		return
	}
	store := os.Getenv("WHATSAPP_STORE")
	if store == "" {
		fmt.Fprintln(os.Stderr, "wagw-whatsmeow: WHATSAPP_STORE is not set (a PostgreSQL URL or a SQLite file)")
		os.Exit(2)
	}
	dialect, address := storeAddress(store)
	container, err := sqlstore.New(context.Background(), dialect, address, libraryLog{"store"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "wagw-whatsmeow: the credential store cannot be opened:", err)
		os.Exit(1)
	}
	lines := NewLines(os.Stdout)
	bridge := NewBridge(container, lines)
	lines.Event("", "ready", map[string]any{"version": Version})
	Serve(os.Stdin, lines, bridge.Ops())
	bridge.Close() // stdin closed: the worker is gone or stopping
	_ = container.Close()
}
