package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/topo-zmq/topo/internal/recovery"
	"github.com/topo-zmq/topo/runtime/socket"
)

// ErrPanic marks the error an Actor's Run returns when the node panicked.
// Check with errors.Is.
var ErrPanic = errors.New("node panicked")

// Subscriber may be implemented by a Node that picks its own SUB prefixes
// from its configuration (weather-client subscribes to its zip code). For each
// SUB socket whose SocketSpec has no Subscribe list, the in-process Actor
// subscribes the prefixes Subscriptions returns for that socket name at Bind
// time, so the subscription is on the wire before Ready and before any
// publisher starts. An explicit `subscribe` in the topology wins.
type Subscriber interface {
	Subscriptions() map[string][]string
}

// NewActor returns the in-process Actor of one node instance of kind k.
//
// It validates spec against the kind (every required socket present, no
// undeclared socket, each socket's type allowed, attributes completed with
// Kind.Defaults) and builds the Node with k.New, so a configuration error is
// reported before any socket exists. sockets is the socket context the
// instance's sockets are made from (it owns the inproc:// namespace; the
// caller owns it and closes it after every actor). out receives the node's
// user-visible output (nil discards) and must be safe for concurrent use
// if several actors share it; log is the node's logger (nil discards), which
// NewActor tags with the instance name.
//
// Every error the Actor returns starts with the instance name
// ("worker[2]: socket \"in\": bind tcp://*:5557: ..."), so callers need not
// add it again.
//
// The Actor's methods are called by one goroutine in lifecycle order
// (Bind, Connect, Ready, Run, Close); Stats and Close are safe to call
// concurrently with the others. Run may be called once.
//
// If the node implements HealthChecker, so does the Actor (and only then):
// its Health asks the node while Run is in flight (nil before and after),
// and returns the node's verdict as is. It returns by ctx's deadline even
// if the node's Health ignores ctx: the node's Health runs on a goroutine
// of its own, and one that has not returned by the deadline is a failure
// ("Health has not returned after 800ms"), as is every later call while it
// is still running, so at most one such goroutine is ever left behind. A
// panic in the node's Health is a failure, not a crash.
func NewActor(k *Kind, spec Spec, sockets *socket.Context, out io.Writer, log *slog.Logger) (Actor, error) {
	if k == nil {
		return nil, nodeErrorf(spec.Name, "new", "no kind")
	}
	if spec.Kind != "" && spec.Kind != k.Name {
		return nil, nodeErrorf(spec.Name, "new", "spec is for kind %q, not %q", spec.Kind, k.Name)
	}
	if sockets == nil {
		return nil, nodeErrorf(spec.Name, "new", "no socket context")
	}
	if err := checkSockets(k, spec.Sockets); err != nil {
		return nil, &NodeError{Node: spec.Name, Op: "new", Err: err}
	}
	attrs, err := k.Defaults(spec.Attrs)
	if err != nil {
		return nil, &NodeError{Node: spec.Name, Op: "config", Err: err}
	}
	node, err := k.New(Config{Name: spec.Name, Index: spec.Index, Attrs: attrs})
	if err != nil {
		if ne, ok := err.(*NodeError); ok && ne.Node == spec.Name { // from Config.Decode
			return nil, err
		}
		return nil, &NodeError{Node: spec.Name, Op: "new", Err: err}
	}
	if node == nil {
		return nil, nodeErrorf(spec.Name, "new", "kind %q: New returned no node", k.Name)
	}
	if out == nil {
		out = io.Discard
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &actor{
		kind:  k,
		spec:  spec,
		node:  node,
		ctx:   sockets,
		out:   out,
		log:   log.With("node", spec.Name),
		socks: map[string]*socket.Socket{},
	}
	if hc, ok := node.(HealthChecker); ok {
		return &healthActor{actor: a, hc: hc}, nil
	}
	return a, nil
}

// checkSockets verifies specs against the kind's declarations.
func checkSockets(k *Kind, specs []SocketSpec) error {
	seen := map[string]bool{}
	for _, s := range specs {
		if seen[s.Name] {
			return fmt.Errorf("socket %q declared twice", s.Name)
		}
		seen[s.Name] = true
		d, ok := k.Socket(s.Name)
		if !ok {
			names := make([]string, 0, len(k.Sockets))
			for _, d := range k.Sockets {
				names = append(names, fmt.Sprintf("%q", d.Name))
			}
			return fmt.Errorf("kind %q has no socket %q (it has %s)", k.Name, s.Name, strings.Join(names, ", "))
		}
		if len(d.Types) > 0 && !slices.Contains(d.Types, s.Type) {
			types := make([]string, len(d.Types))
			for i, t := range d.Types {
				types[i] = string(t)
			}
			return fmt.Errorf("socket %q: type %s is not allowed by kind %q (want %s)", s.Name, s.Type, k.Name, strings.Join(types, " or "))
		}
		if s.Subscribe != nil && s.Type != socket.SUB {
			return fmt.Errorf("socket %q: subscribe is only valid on a SUB socket, not %s", s.Name, s.Type)
		}
	}
	for _, d := range k.Sockets {
		if !d.Optional && !seen[d.Name] {
			return fmt.Errorf("kind %q requires socket %q", k.Name, d.Name)
		}
	}
	return nil
}

type actor struct {
	kind *Kind
	spec Spec
	node Node
	ctx  *socket.Context
	out  io.Writer
	log  *slog.Logger

	mu      sync.Mutex
	socks   map[string]*socket.Socket // guarded by mu
	taps    map[string]socket.TapFunc // guarded by mu; SetTap
	bound   bool                      // guarded by mu
	ran     bool                      // guarded by mu
	running bool                      // guarded by mu; Run is in flight
	closed  bool                      // guarded by mu
}

// errf returns a NodeError of this instance and op.
func (a *actor) errf(op, format string, args ...any) error {
	return nodeErrorf(a.spec.Name, op, format, args...)
}

// Bind creates every socket of the spec, subscribes SUB prefixes and binds.
// On failure it closes whatever it created, so a restart can bind again.
func (a *actor) Bind(ctx context.Context) (map[string][]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, a.errf("bind", "bind: actor is closed")
	}
	if a.bound {
		return nil, a.errf("bind", "bind: already bound")
	}
	a.bound = true
	var subs map[string][]string
	if s, ok := a.node.(Subscriber); ok {
		subs = s.Subscriptions()
	}
	fail := func(err error) (map[string][]string, error) {
		for _, s := range a.socks {
			s.Close()
		}
		a.socks = map[string]*socket.Socket{}
		return nil, err
	}
	for _, ss := range a.spec.Sockets {
		if err := ctx.Err(); err != nil {
			return fail(a.errf("bind", "bind: %w", err))
		}
		opts := socket.Options{
			SendHWM: ss.HWM,
			RecvHWM: ss.HWM,
			Logger:  a.log.With("socket", ss.Name),
		}
		if a.spec.Run != "" {
			opts.Run, opts.Name = a.spec.Run, a.spec.Name+"."+ss.Name
		}
		if len(ss.Peers) > 0 {
			opts.OnEvent = a.peerLogger(ss)
		}
		if ss.Identity != "" {
			opts.Identity = []byte(ss.Identity)
		}
		if ss.Curve != nil {
			opts.Security = *ss.Curve
		}
		s, err := a.ctx.NewSocket(ss.Type, opts)
		if err != nil {
			return fail(a.errf("bind", "socket %q: new %s socket: %w", ss.Name, ss.Type, err))
		}
		a.socks[ss.Name] = s
		if f := a.taps[ss.Name]; f != nil {
			s.SetTap(f)
		}
		if ss.Type == socket.SUB {
			prefixes := ss.Subscribe
			if prefixes == nil {
				prefixes = subs[ss.Name]
			}
			for _, p := range prefixes {
				if err := s.Subscribe([]byte(p)); err != nil {
					return fail(a.errf("bind", "socket %q: subscribe %q: %w", ss.Name, p, err))
				}
			}
		}
		for _, ep := range ss.Bind {
			if err := s.Bind(ep); err != nil {
				return fail(&NodeError{Node: a.spec.Name, Op: "bind", Err: &BindError{Socket: ss.Name, Endpoint: ep, Err: err}})
			}
			a.log.Debug("bound", "socket", ss.Name, "endpoint", ep)
		}
	}
	eps := map[string][]string{}
	for _, ss := range a.spec.Sockets {
		if len(ss.Bind) > 0 {
			eps[ss.Name] = a.socks[ss.Name].Endpoints()
		}
	}
	return eps, nil
}

// SetTap implements Tapper.
func (a *actor) SetTap(sock string, f socket.TapFunc) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	known := false
	for _, ss := range a.spec.Sockets {
		known = known || ss.Name == sock
	}
	if !known {
		return a.errf("tap", "tap: no socket %q", sock)
	}
	if a.taps == nil {
		a.taps = map[string]socket.TapFunc{}
	}
	if f == nil {
		delete(a.taps, sock)
	} else {
		a.taps[sock] = f
	}
	if s := a.socks[sock]; s != nil {
		s.SetTap(f)
	}
	return nil
}

// peerLogger logs, for a socket with named peers (a topology with hosts,
// whose peers come and go with their hosts' processes), each expected
// peer that connects or disconnects, at info level.
func (a *actor) peerLogger(ss SocketSpec) func(socket.Event) {
	want := make(map[string]bool, len(ss.Peers))
	for _, p := range ss.Peers {
		want[p] = true
	}
	log := a.log.With("socket", ss.Name)
	run := a.spec.Run
	return func(e socket.Event) {
		if !want[e.PeerName] || !SameTopology(run, e.PeerRun) {
			return
		}
		switch e.Kind {
		case socket.EventConnected:
			log.Info("peer connected", "peer", e.PeerName, "addr", e.Peer)
		case socket.EventDisconnected:
			log.Info("peer disconnected", "peer", e.PeerName, "addr", e.Peer)
		}
	}
}

// Connect connects sockets by name; connecting is asynchronous.
func (a *actor) Connect(ctx context.Context, endpoints map[string][]string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return a.errf("connect", "connect: actor is closed")
	}
	names := make([]string, 0, len(endpoints))
	for n := range endpoints {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		s, ok := a.socks[name]
		if !ok {
			if !a.bound {
				return a.errf("connect", "socket %q: connect before bind", name)
			}
			return a.errf("connect", "socket %q: connect: no such socket", name)
		}
		for _, ep := range endpoints[name] {
			if err := ctx.Err(); err != nil {
				return a.errf("connect", "socket %q: connect %s: %w", name, ep, err)
			}
			if err := s.Connect(ep); err != nil {
				return a.errf("connect", "socket %q: connect %s: %w", name, ep, err)
			}
			a.log.Debug("connecting", "socket", name, "endpoint", ep)
		}
	}
	return nil
}

// Ready waits until every socket with Peers has each of them (see
// SocketSpec.Peers), and every other socket with Expect > 0 has that many
// peers.
func (a *actor) Ready(ctx context.Context) error {
	type want struct {
		name  string
		s     *socket.Socket
		n     int
		peers []string
	}
	var wants []want
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return a.errf("ready", "ready: actor is closed")
	}
	for _, ss := range a.spec.Sockets {
		if ss.Expect <= 0 && len(ss.Peers) == 0 {
			continue
		}
		s, ok := a.socks[ss.Name]
		if !ok {
			a.mu.Unlock()
			return a.errf("ready", "socket %q: ready before bind", ss.Name)
		}
		wants = append(wants, want{ss.Name, s, ss.Expect, ss.Peers})
	}
	a.mu.Unlock()
	for _, w := range wants {
		var err error
		if len(w.peers) > 0 {
			err = w.s.WaitUntil(ctx, func(st socket.Stats) bool {
				return len(MissingPeers(w.s.Type(), a.spec.Run, w.peers, st.Conns, w.s.PeersSeen)) == 0
			})
		} else {
			err = w.s.WaitPeers(ctx, w.n)
		}
		if err != nil {
			if ctx.Err() == nil {
				return a.errf("ready", "socket %q: waiting for %d peers: %w", w.name, max(w.n, len(w.peers)), err)
			}
			// Say every socket that is still short, not only this one.
			var short []string
			for _, w := range wants {
				what := "peers"
				if t := w.s.Type(); t == socket.PUB || t == socket.XPUB {
					what = "subscribers"
				}
				if len(w.peers) > 0 {
					if miss := MissingPeers(w.s.Type(), a.spec.Run, w.peers, w.s.Stats().Conns, w.s.PeersSeen); len(miss) > 0 {
						short = append(short, fmt.Sprintf("socket %q is still waiting for %d of %d %s (%s)", w.name, len(miss), len(w.peers), what, strings.Join(miss, ", ")))
					}
					continue
				}
				if have := w.s.Stats().Wired(w.s.Type()); have < uint64(w.n) {
					short = append(short, fmt.Sprintf("socket %q is still waiting for %d of %d %s", w.name, uint64(w.n)-have, w.n, what))
				}
			}
			if len(short) == 0 {
				short = []string{fmt.Sprintf("socket %q is still waiting for peers", w.name)}
			}
			return a.errf("ready", "not ready: %s: %w", strings.Join(short, "; "), ctx.Err())
		}
	}
	return nil
}

// MissingPeers returns the names in want (SocketSpec.Peers of a socket of
// type t in run) that do not count as wired: not among conns (Stats.Conns)
// as a peer of the same topology (SameTopology), and for PUB and XPUB
// subscribed. For a socket that only receives (PULL, SUB, XSUB) a peer
// that seen (nil: none; Socket.PeersSeen) names counts too. The order of
// want is kept. It is what Ready waits on, for callers that report who is
// missing.
func MissingPeers(t socket.Type, run string, want []string, conns []socket.PeerInfo, seen func() []socket.PeerInfo) []string {
	have := make(map[string]bool, len(conns))
	for _, c := range conns {
		if !SameTopology(run, c.Run) {
			continue
		}
		if (t == socket.PUB || t == socket.XPUB) && !c.Subscribed {
			continue
		}
		have[c.Name] = true
	}
	var miss []string
	for _, p := range want {
		if !have[p] {
			miss = append(miss, p)
		}
	}
	if len(miss) > 0 && seen != nil && (t == socket.PULL || t == socket.SUB || t == socket.XSUB) {
		for _, c := range seen() {
			if SameTopology(run, c.Run) {
				have[c.Name] = true
			}
		}
		kept := miss[:0]
		for _, p := range miss {
			if !have[p] {
				kept = append(kept, p)
			}
		}
		miss = kept
	}
	return miss
}

// Run runs the node body, recovering a panic into an error.
func (a *actor) Run(ctx context.Context) (err error) {
	a.mu.Lock()
	switch {
	case a.closed:
		a.mu.Unlock()
		return a.errf("run", "run: actor is closed")
	case a.ran:
		a.mu.Unlock()
		return a.errf("run", "run: already ran (build a new actor to restart)")
	}
	a.ran, a.running = true, true
	defer func() {
		a.mu.Lock()
		a.running = false
		a.mu.Unlock()
	}()
	env := Env{
		Name:    a.spec.Name,
		Sockets: make(map[string]*socket.Socket, len(a.socks)),
		Out:     a.out,
		Log:     a.log,
	}
	for n, s := range a.socks {
		env.Sockets[n] = s
	}
	a.mu.Unlock()
	if len(env.Sockets) < len(a.spec.Sockets) {
		return a.errf("run", "run before bind")
	}

	err = recovery.Call(func() error { return a.node.Run(ctx, env) }, func(r any, stack string) error {
		a.log.Error("node panicked", "panic", fmt.Sprint(r), "stack", stack)
		return fmt.Errorf("%w: %v", ErrPanic, r)
	})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return nil // stopped through ctx: a clean stop
	}
	return &NodeError{Node: a.spec.Name, Op: "run", Err: err}
}

// healthActor is the Actor of a node that implements HealthChecker.
type healthActor struct {
	*actor
	hc HealthChecker

	hmu       sync.Mutex
	last      chan struct{} // guarded by hmu; closed when the last call of hc.Health returned
	lastStart time.Time     // guarded by hmu
}

// Health asks the node while Run is in flight; see NewActor.
func (a *healthActor) Health(ctx context.Context) error {
	a.mu.Lock()
	running := a.running
	a.mu.Unlock()
	if !running {
		return nil
	}
	a.hmu.Lock()
	if a.last != nil {
		select {
		case <-a.last:
		default:
			since := time.Since(a.lastStart)
			a.hmu.Unlock()
			return fmt.Errorf("Health has not returned after %s", since.Round(time.Millisecond))
		}
	}
	done, start := make(chan struct{}), time.Now()
	a.last, a.lastStart = done, start
	a.hmu.Unlock()

	var err error
	go func() { // left behind only while the node's Health ignores ctx; see NewActor
		defer close(done)
		err = recovery.Call(func() error { return a.hc.Health(ctx) }, func(r any, _ string) error {
			return fmt.Errorf("Health panicked: %v", r)
		})
	}()
	select {
	case <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("Health has not returned after %s: %w", time.Since(start).Round(time.Millisecond), ctx.Err())
	}
}

// Stats returns each socket's counters.
func (a *actor) Stats() map[string]socket.Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]socket.Stats, len(a.socks))
	for n, s := range a.socks {
		out[n] = s.Stats()
	}
	return out
}

// Close closes every socket once.
func (a *actor) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil
	}
	a.closed = true
	socks := a.socks
	a.mu.Unlock()
	var errs []error
	for _, ss := range a.spec.Sockets {
		if s, ok := socks[ss.Name]; ok {
			if err := s.Close(); err != nil && !errors.Is(err, socket.ErrClosed) {
				errs = append(errs, a.errf("close", "socket %q: close: %w", ss.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}
