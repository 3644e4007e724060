package builtin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

// Kinds returns fresh descriptions of every built-in kind, sorted by name.
func Kinds() []*plugins.Kind {
	return []*plugins.Kind{
		countKind(),
		generateKind(),
		helloClientKind(),
		helloServerKind(),
		printKind(),
		proxyKind(),
		sinkKind(),
		ventilatorKind(),
		weatherClientKind(),
		weatherPublisherKind(),
		workerKind(),
	}
}

// Register adds every built-in kind to r. It fails, registering nothing
// further, if r already holds a kind of the same name.
func Register(r *plugins.Registry) error {
	return r.Register(Kinds()...)
}

// Socket types by capability, for kinds that take "any sending type" or
// "any receiving type". REQ, REP and ROUTER are left out: their envelopes
// and alternation need a kind that understands them.
var (
	sendTypes = []socket.Type{socket.PUSH, socket.PUB, socket.XPUB, socket.DEALER, socket.PAIR}
	recvTypes = []socket.Type{socket.PULL, socket.SUB, socket.XSUB, socket.DEALER, socket.ROUTER, socket.PAIR}
)

func strAttr(name, def, doc string) plugins.Attr {
	return plugins.Attr{Name: name, Type: cty.String, Default: cty.StringVal(def), Doc: doc}
}

func numAttr(name string, def int64, doc string) plugins.Attr {
	return plugins.Attr{Name: name, Type: cty.Number, Default: cty.NumberIntVal(def), Doc: doc}
}

// attrErr is the error a kind's Check (and so its New) returns for a bad
// attribute value.
func attrErr(attr, format string, args ...any) error {
	return plugins.AttrErrorf(attr, format, args...)
}

// checkOf is a kind's Check made of the decode function its New starts
// with: one source of truth for what a configuration may hold.
func checkOf[C any](decode func(plugins.Config) (C, error)) func(plugins.Config) error {
	return func(cfg plugins.Config) error {
		_, err := decode(cfg)
		return err
	}
}

// node gets a declared socket from env, failing clearly if the caller did
// not provide it.
func need(env plugins.Env, name string) (*socket.Socket, error) {
	s := env.Socket(name)
	if s == nil {
		return nil, fmt.Errorf("socket %q: not provided", name)
	}
	return s, nil
}

func recv(ctx context.Context, s *socket.Socket, name string) (socket.Msg, error) {
	m, err := s.Recv(ctx)
	if err != nil {
		return nil, sockErr(name, "recv", err)
	}
	return m, nil
}

func send(ctx context.Context, s *socket.Socket, name string, m socket.Msg) error {
	if err := s.Send(ctx, m); err != nil {
		return sockErr(name, "send", err)
	}
	return nil
}

// sockErr is the error recv and send return: the socket's name, the
// operation and the cause.
func sockErr(name, op string, err error) error {
	return fmt.Errorf("socket %q: %s: %w", name, op, err)
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// line writes one line to env.Out in a single Write.
func line(env plugins.Env, format string, args ...any) {
	fmt.Fprintf(env.Out, format+"\n", args...)
}

// frames joins a message's frames as text, separated by " | ".
func frames(m socket.Msg) string {
	parts := make([]string, len(m))
	for i, f := range m {
		parts[i] = string(f)
	}
	return strings.Join(parts, " | ")
}

// splitEnvelope splits a ROUTER message into its routing envelope (up to
// and including the empty delimiter, or just the identity frame when the
// peer sent none, as a DEALER may) and the body.
func splitEnvelope(m socket.Msg) (env, body socket.Msg) {
	for i, f := range m {
		if len(f) == 0 {
			return m[:i+1], m[i+1:]
		}
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m[:1], m[1:]
}

// pacer spaces sends to a rate in messages per second (0 = unlimited). It
// keeps an absolute schedule, so an oversleep is caught up by the next sends.
type pacer struct {
	rate  float64
	start time.Time
	n     uint64
}

func (p *pacer) wait(ctx context.Context) error {
	if p.rate <= 0 {
		return nil
	}
	if p.n == 0 {
		p.start = time.Now()
	}
	due := p.start.Add(time.Duration(float64(p.n) / p.rate * float64(time.Second)))
	p.n++
	if d := time.Until(due); d > 0 {
		return sleep(ctx, d)
	}
	return nil
}
