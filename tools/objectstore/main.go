// Command objectstore runs a small S3-API object store (gofakes3 with its bbolt backend, one data
// file) for local development and tests. Production points the platform at a real S3 or MinIO by
// one endpoint URL and credentials; this server only has to speak the same protocol on loopback.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
)

func main() {
	listen := flag.String("listen-addr", "127.0.0.1:9000", "TCP address to listen on")
	dataDir := flag.String("data-dir", "./data", "directory for the object data file")
	maxObject := flag.Int64("max-object-bytes", 64<<20, "largest request body accepted (413 above it)")
	flag.Parse()

	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		log.Fatalf("cannot create data dir: %v", err)
	}
	backend, err := s3bolt.NewFile(filepath.Join(*dataDir, "objects.bolt"))
	if err != nil {
		log.Fatalf("cannot open the data file: %v", err)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	// Buckets are created by the platform at start (S3 and MinIO need that too), never implicitly.
	s3 := gofakes3.New(backend, gofakes3.WithTimeSkewLimit(15*time.Minute))
	inner := s3.Server()
	// The store's own bound on an object's size, behind the platform's: a body over it is refused.
	limited := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > *maxObject {
			http.Error(w, "EntityTooLarge", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, *maxObject)
		inner.ServeHTTP(w, r)
	})
	server := &http.Server{Addr: *listen, Handler: limited, ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	logger.Warn("listening", "addr", *listen, "data", *dataDir)
	if err := server.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("stopped with error: %v", err)
	}
}
