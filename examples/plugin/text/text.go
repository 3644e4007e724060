// Package text holds the node kinds of topo's example plugin: "upper", a
// transform that sits in a pipeline, and "collect", a sink that prints what
// it receives and finishes. They are ordinary plugins.Kind values; the
// plugin's main (examples/plugin) serves them with one plugins.Serve call,
// and an embedding program could register them in-process just as well.
package text

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

// Kinds returns every kind of the plugin.
func Kinds() []*plugins.Kind { return []*plugins.Kind{Upper(), Collect()} }

// Upper is the "upper" kind: it pulls messages from `in`, upper-cases every
// frame, prepends `prefix` to the first frame and pushes the result on
// `out`. A service: it runs until stopped.
func Upper() *plugins.Kind {
	return &plugins.Kind{
		Name: "upper",
		Doc:  "Transform: receives on `in`, upper-cases every frame (after prepending `prefix` to the first) and sends on `out`.",
		Life: plugins.Service,
		Attrs: []plugins.Attr{
			{Name: "prefix", Type: cty.String, Default: cty.StringVal(""), Doc: "Text prepended to the first frame of each message."},
		},
		Sockets: []plugins.SocketDecl{
			{Name: "in", Types: []socket.Type{socket.PULL, socket.SUB, socket.DEALER}, Doc: "Messages to transform."},
			{Name: "out", Types: []socket.Type{socket.PUSH, socket.PUB, socket.DEALER}, Doc: "Transformed messages."},
		},
		New: func(cfg plugins.Config) (plugins.Node, error) {
			var c struct {
				Prefix string `cty:"prefix"`
			}
			if err := cfg.Decode(&c); err != nil {
				return nil, err
			}
			return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
				return upper(ctx, env, []byte(c.Prefix))
			}), nil
		},
	}
}

func upper(ctx context.Context, env plugins.Env, prefix []byte) error {
	in, out := env.Socket("in"), env.Socket("out")
	if in == nil || out == nil {
		return fmt.Errorf("sockets in and out are required")
	}
	for {
		m, err := in.Recv(ctx)
		if err != nil {
			return fmt.Errorf("socket \"in\": recv: %w", err)
		}
		for i, f := range m {
			if i == 0 && len(prefix) > 0 {
				f = append(append([]byte{}, prefix...), f...)
			}
			m[i] = toUpper(f)
		}
		if err := out.Send(ctx, m); err != nil {
			return fmt.Errorf("socket \"out\": send: %w", err)
		}
	}
}

// toUpper upper-cases f, in place when it is ASCII (a received message's
// frames belong to the receiver, so no copy is needed); other UTF-8 text can
// change length and goes through bytes.ToUpper. ASCII goes eight bytes at a
// time: for a byte b < 0x80, b+0x1f has its top bit set when b >= 'a' and
// b+0x05 when b > 'z', and neither sum carries into the next byte.
func toUpper(f []byte) []byte {
	const (
		high  = 0x8080808080808080
		fromA = 0x1f1f1f1f1f1f1f1f // 0x80 - 'a' per byte
		pastZ = 0x0505050505050505 // 0x80 - 'z' - 1 per byte
	)
	i := 0
	for ; i+8 <= len(f); i += 8 {
		w := binary.LittleEndian.Uint64(f[i:])
		if w&high != 0 {
			return bytes.ToUpper(f) // the ASCII part done so far stays upper-case
		}
		lower := (w + fromA) &^ (w + pastZ) & high
		binary.LittleEndian.PutUint64(f[i:], w^lower>>2) // 0x80>>2 is the case bit
	}
	for ; i < len(f); i++ {
		switch c := f[i]; {
		case c >= utf8.RuneSelf:
			return bytes.ToUpper(f)
		case 'a' <= c && c <= 'z':
			f[i] = c - ('a' - 'A')
		}
	}
	return f
}

// Collect is the "collect" kind: it prints every message it pulls from
// `in` (frames separated by " | ") and finishes after `expect` of them,
// printing a summary. A task.
func Collect() *plugins.Kind {
	return &plugins.Kind{
		Name: "collect",
		Doc:  "Sink: prints each message received on `in`; after `expect` messages prints a summary and finishes.",
		Life: plugins.Task,
		Attrs: []plugins.Attr{
			{Name: "expect", Type: cty.Number, Doc: "How many messages to collect (required, at least 1)."},
		},
		Sockets: []plugins.SocketDecl{
			{Name: "in", Types: []socket.Type{socket.PULL, socket.SUB, socket.DEALER}, Doc: "Messages to print."},
		},
		// Check runs in `topo validate` (across the plugin boundary) and
		// again in New, so both reject the same configurations.
		Check: func(cfg plugins.Config) error {
			_, err := collectExpect(cfg)
			return err
		},
		New: func(cfg plugins.Config) (plugins.Node, error) {
			expect, err := collectExpect(cfg)
			if err != nil {
				return nil, err
			}
			return plugins.NodeFunc(func(ctx context.Context, env plugins.Env) error {
				return collect(ctx, env, expect)
			}), nil
		},
	}
}

// collectExpect decodes and checks collect's configuration.
func collectExpect(cfg plugins.Config) (int, error) {
	var c struct {
		Expect int `cty:"expect"`
	}
	if err := cfg.Decode(&c); err != nil {
		return 0, err
	}
	if c.Expect < 1 {
		return 0, plugins.AttrErrorf("expect", "must be at least 1, got %d", c.Expect)
	}
	return c.Expect, nil
}

func collect(ctx context.Context, env plugins.Env, expect int) error {
	in := env.Socket("in")
	if in == nil {
		return fmt.Errorf("socket in is required")
	}
	for n := 1; n <= expect; n++ {
		m, err := in.Recv(ctx)
		if err != nil {
			return fmt.Errorf("socket \"in\": recv: %w", err)
		}
		fmt.Fprintf(env.Out, "%d: %s\n", n, bytes.Join(m, []byte(" | ")))
	}
	fmt.Fprintf(env.Out, "Collected %d messages\n", expect)
	return nil
}
