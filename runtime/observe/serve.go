package observe

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Listen listens on addr (host:port; port 0 picks one) and logs the
// address it got ("http listening", addr=127.0.0.1:PORT), with a warning
// when addr is not a loopback address: the endpoints have no
// authentication. Serve the listener with Serve.
func Listen(addr string, log *slog.Logger) (net.Listener, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if !loopback(ln.Addr()) {
		log.Warn("http endpoints are served beyond this machine, without authentication (use a loopback address such as 127.0.0.1 to keep them local)", "addr", ln.Addr().String())
	}
	log.Info("http listening", "addr", ln.Addr().String())
	return ln, nil
}

func loopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// Serve serves h on ln until ctx is done, then shuts the server down
// (waiting up to a second for requests under way) and returns. An error
// other than the shutdown is returned.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if e := <-done; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}
