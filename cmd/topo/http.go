package main

import (
	"context"
	"log/slog"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/topo-zmq/topo/runtime"
	"github.com/topo-zmq/topo/runtime/observe"
)

// httpServer is `topo apply -http`: listening from before the load (a
// busy port fails the command before anything runs), serving once the
// runtime exists, until stop.
type httpServer struct {
	ln   net.Listener
	reg  *prometheus.Registry // a registry of its own, not the global one
	log  *slog.Logger
	stop context.CancelFunc
	done chan struct{}
}

// listenHTTP listens on addr; "" means no server (nil, nil).
func listenHTTP(addr string, log *slog.Logger) (*httpServer, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := observe.Listen(addr, log)
	if err != nil {
		return nil, err
	}
	return &httpServer{ln: ln, reg: prometheus.NewRegistry(), log: log}, nil
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
		if err := observe.Serve(ctx, h.ln, observe.Handler(rt, h.reg)); err != nil {
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
