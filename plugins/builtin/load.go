package builtin

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

type generateConfig struct {
	Messages int     `cty:"messages"`
	Size     int     `cty:"size"`
	Rate     float64 `cty:"rate"`
}

func generateKind() *plugins.Kind {
	return &plugins.Kind{
		Name: "generate",
		Doc: "Load generator: sends `messages` single-frame messages of `size` bytes as fast as " +
			"`rate` allows, prints a summary and finishes.",
		Life: plugins.Task,
		Attrs: []plugins.Attr{
			numAttr("messages", 0, "How many messages to send; 0 sends until stopped."),
			numAttr("size", 16, "Bytes per message."),
			{Name: "rate", Type: cty.Number, Default: cty.NumberIntVal(0), Doc: "Messages per second; 0 is unlimited."},
		},
		Sockets: []plugins.SocketDecl{
			{Name: "out", Types: sendTypes, Doc: "Messages are sent here."},
		},
		Check: checkOf(decodeGenerate),
		New: func(cfg plugins.Config) (plugins.Node, error) {
			c, err := decodeGenerate(cfg)
			if err != nil {
				return nil, err
			}
			return &generate{generateConfig: c}, nil
		},
	}
}

// decodeGenerate decodes and checks a generate configuration.
func decodeGenerate(cfg plugins.Config) (generateConfig, error) {
	var c generateConfig
	if err := cfg.Decode(&c); err != nil {
		return c, err
	}
	var errs []error
	if c.Messages < 0 {
		errs = append(errs, attrErr("messages", "must not be negative, got %d", c.Messages))
	}
	switch {
	case c.Size < 0:
		errs = append(errs, attrErr("size", "must not be negative, got %d", c.Size))
	case c.Size > 64<<20:
		errs = append(errs, attrErr("size", "must be at most 64 MiB (67108864), got %d", c.Size))
	}
	if c.Rate < 0 {
		errs = append(errs, attrErr("rate", "must not be negative, got %v", c.Rate))
	}
	return c, errors.Join(errs...)
}

type generate struct{ generateConfig }

// reuseMin is the smallest payload generate sends from a reused frame
// buffer and count gives back: the socket's smallest pooled frame
// (runtime/socket, AllocFrame). inprocReuseMin is the smallest an inproc
// peer gives back (smaller ones go as Send's do), so generate, when out
// has an inproc endpoint, reuses from there: under it AllocFrame would
// allocate per message what the batch below cuts from one allocation.
const (
	reuseMin       = 1 << 10
	inprocReuseMin = 4 << 10
)

// reuseFrom is the smallest payload g sends from reused frame buffers on s.
func reuseFrom(s *socket.Socket) int {
	for _, ep := range s.Endpoints() {
		if strings.HasPrefix(ep, "inproc://") {
			return inprocReuseMin
		}
	}
	return reuseMin
}

// Run sends the messages. Payloads under reuseMin go with SendCopy from one
// buffer or, to an inproc peer, are cut from shared chunks so the hot path
// allocates once per batch; either way each message owns its memory (a
// receiver may modify what it receives).
func (g *generate) Run(ctx context.Context, env plugins.Env) error {
	out, err := need(env, "out")
	if err != nil {
		return err
	}
	// Payloads come from one allocation per batch of up to 1024 messages,
	// at most ~1 MiB (a batch of 64 MiB messages is one message).
	batch := 1024
	if g.Size > 0 {
		batch = max(1, min(batch, (1<<20)/g.Size))
	}
	// The payload pattern for a whole batch, built once: each batch is then
	// one copy, not one per message.
	pattern := make([]byte, g.Size*batch)
	for i := range g.Size {
		pattern[i] = 'a' + byte(i%26)
	}
	for n := g.Size; n < len(pattern); n *= 2 {
		copy(pattern[n:], pattern[:n])
	}
	var (
		data []byte
		msgs []([]byte)
		hdrs socket.Msg
		p    = pacer{rate: g.Rate}
	)
	// Large payloads (reuseMin and up) are copied each message into a
	// buffer from the socket's frame pool and sent with SendRelease: over
	// tcp and ipc the buffer comes back once written, so a stream of them
	// allocates nothing, and each message still owns its memory (the
	// receiver may modify it). Over inproc the buffer goes to the receiver,
	// and comes back when the receiver releases it (count does).
	reuse := g.Size >= reuseFrom(out)
	// Small payloads on a socket with no inproc endpoint are one buffer
	// sent with SendCopy, which copies what the socket keeps (up to 40
	// bytes into the outbound queue's own memory, so a stream of them
	// allocates nothing; generate → count at 16 B moved 1.08× (six pairs)
	// what it did with the batches below). To an inproc peer SendCopy
	// copies each message on its own, which the batches do more cheaply.
	copyOne := !reuse && reuseFrom(out) == reuseMin
	one := socket.Msg{pattern[:g.Size]}
	start := time.Now()
	sent, limit, paced := 0, g.Messages, g.Rate > 0
	k := batch // index in the current batch; batch: a new one is due
	for limit == 0 || sent < limit {
		if paced {
			if err := p.wait(ctx); err != nil {
				return err
			}
		}
		if copyOne {
			if sent&1023 == 0 { // a PUB's Send never looks at ctx
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := out.SendCopy(ctx, one); err != nil {
				return sockErr("out", "send", err)
			}
			sent++
			continue
		}
		if reuse {
			if sent&1023 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if len(hdrs) == 0 {
				hdrs = make(socket.Msg, 1024)
			}
			b := out.AllocFrame(g.Size)
			copy(b, pattern[:g.Size])
			m := hdrs[:1:1]
			hdrs = hdrs[1:]
			m[0] = b
			if err := out.SendRelease(ctx, m); err != nil {
				return sockErr("out", "send", err)
			}
			sent++
			continue
		}
		if k == batch { // (not sent % batch: a division per message shows at inproc rates)
			k = 0
			// A PUB's Send never blocks, so never looks at ctx: check it
			// here, once a batch (a microsecond's worth of messages).
			if err := ctx.Err(); err != nil {
				return err
			}
			data = make([]byte, len(pattern))
			copy(data, pattern)
			msgs = make([][]byte, batch)
			for j := range msgs {
				msgs[j] = data[j*g.Size : (j+1)*g.Size : (j+1)*g.Size]
			}
			hdrs = socket.Msg(msgs)
		}
		if err := out.Send(ctx, hdrs[k:k+1:k+1]); err != nil { // (not send(): it does not inline)
			return sockErr("out", "send", err)
		}
		k++
		sent++
	}
	el := time.Since(start)
	line(env, "Sent %d messages of %d bytes in %.3f s (%.0f msgs/s)", sent, g.Size, el.Seconds(), perSecond(sent, el))
	return nil
}

func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

type countConfig struct {
	Expect int `cty:"expect"`
}

func countKind() *plugins.Kind {
	return &plugins.Kind{
		Name: "count",
		Doc: "Load sink: counts messages; after `expect` of them prints the count, seconds and msgs/s " +
			"(timed from the first message) and finishes.",
		Life: plugins.Task,
		Attrs: []plugins.Attr{
			numAttr("expect", 0, "How many messages to count before finishing; 0 counts until stopped (and prints then)."),
		},
		Sockets: []plugins.SocketDecl{
			{Name: "in", Types: recvTypes, Doc: "Messages arrive here. A SUB without `subscribe` takes everything."},
		},
		Check: checkOf(decodeCount),
		New: func(cfg plugins.Config) (plugins.Node, error) {
			c, err := decodeCount(cfg)
			if err != nil {
				return nil, err
			}
			return &count{expect: c.Expect}, nil
		},
	}
}

func decodeCount(cfg plugins.Config) (countConfig, error) {
	var c countConfig
	if err := cfg.Decode(&c); err != nil {
		return c, err
	}
	if c.Expect < 0 {
		return c, attrErr("expect", "must not be negative, got %d", c.Expect)
	}
	return c, nil
}

type count struct{ expect int }

// Subscriptions makes a SUB "in" take every message.
func (*count) Subscriptions() map[string][]string { return map[string][]string{"in": {""}} }

func (c *count) Run(ctx context.Context, env plugins.Env) error {
	in, err := need(env, "in")
	if err != nil {
		return err
	}
	var first, last time.Time
	n, lastN := 0, 0 // messages received; messages received at the clock sample last
	report := func() {
		el := last.Sub(first)
		line(env, "Received %d messages in %.3f s (%.0f msgs/s)", n, el.Seconds(), perSecond(lastN-1, el))
	}
	for c.expect == 0 || n < c.expect {
		m, err := in.Recv(ctx) // (not recv(): it does not inline)
		if err != nil {
			err = sockErr("in", "recv", err)
			if c.expect == 0 && n > 0 && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
				report()
			}
			return err
		}
		n++
		if len(m) > 0 && cap(m[0]) >= reuseMin {
			in.Release(m) // large frames back to the pool (see socket.Release)
		}
		// Reading the clock per message costs more than an inproc receive,
		// so past the first 1024 messages sample it every 1024th; the rate
		// is over the sampled window, which ends at most 1023 messages short.
		if n <= 1024 || n&1023 == 0 {
			last, lastN = time.Now(), n
			if n == 1 {
				first = last
			}
		}
	}
	last, lastN = time.Now(), n
	report()
	return nil
}
