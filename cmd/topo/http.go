package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/runtime/observe"
)

// httpServer is `topo apply -http`: listening from before the load (a
// busy port fails the command before anything runs), serving once the
// runtime exists, until stop.
type httpServer struct {
	ln   net.Listener
	tap  bool                 // -http-tap: serve /v1/tap too
	reg  *prometheus.Registry // a registry of its own, not the global one
	log  *slog.Logger
	stop context.CancelFunc
	done chan struct{}
}

// listenHTTP listens on addr; "" means no server (nil, nil). tap adds
// /v1/tap.
func listenHTTP(addr string, tap bool, log *slog.Logger) (*httpServer, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := observe.Listen(addr, log)
	if err != nil {
		return nil, err
	}
	if tap {
		log.Warn("serving /v1/tap: anyone who can reach the address can read the messages flowing through the topology's sockets", "addr", ln.Addr().String())
	}
	return &httpServer{ln: ln, tap: tap, reg: prometheus.NewRegistry(), log: log}, nil
}

// registerer is what runtime.Options.Registerer gets (nil without -http).
func (h *httpServer) registerer() prometheus.Registerer {
	if h == nil {
		return nil
	}
	return h.reg
}

// serve starts serving rt's endpoints.
func (h *httpServer) serve(rt *runtime.Runtime) {
	if h == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.stop, h.done = cancel, make(chan struct{})
	go func() {
		defer close(h.done)
		var hd http.Handler = observe.Handler(rt, h.reg)
		if h.tap {
			mux := http.NewServeMux()
			mux.Handle("GET /v1/tap", observe.Tap(rt))
			mux.Handle("/", hd)
			hd = mux
		}
		if err := observe.Serve(ctx, h.ln, hd); err != nil {
			h.log.Warn("http server", "err", err)
		}
	}()
}

// close stops serving (or closes the unused listener) and waits.
func (h *httpServer) close() {
	if h == nil {
		return
	}
	if h.stop == nil {
		_ = h.ln.Close()
		return
	}
	h.stop()
	<-h.done
}
