package builtin

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

type printConfig struct {
	Format string `cty:"format"`
}

func printKind() *plugins.Kind {
	return &plugins.Kind{
		Name: "print",
		Doc: "Prints every message it receives, one line per message. Formats: \"text\" (frames " +
			"separated by \" | \"; a frame that is not printable UTF-8 is shown as 0x-prefixed hex), " +
			"\"hex\" (every frame in hex, separated by \" | \"), \"json\" (a JSON array per message: a " +
			"string per UTF-8 frame, {\"base64\": ...} for any other).",
		Life: plugins.Service,
		Attrs: []plugins.Attr{
			strAttr("format", "text", "How to print messages: \"text\", \"hex\" or \"json\"."),
		},
		Sockets: []plugins.SocketDecl{
			{Name: "in", Types: recvTypes, Doc: "Messages arrive here. A SUB without `subscribe` takes everything."},
		},
		Check: checkOf(decodePrint),
		New: func(cfg plugins.Config) (plugins.Node, error) {
			c, err := decodePrint(cfg)
			if err != nil {
				return nil, err
			}
			return &printer{format: c.Format}, nil
		},
	}
}

func decodePrint(cfg plugins.Config) (printConfig, error) {
	var c printConfig
	if err := cfg.Decode(&c); err != nil {
		return c, err
	}
	switch c.Format {
	case "text", "hex", "json":
		return c, nil
	}
	return c, attrErr("format", "want \"text\", \"hex\" or \"json\", got %q", c.Format)
}

type printer struct{ format string }

// Subscriptions makes a SUB "in" take every message.
func (*printer) Subscriptions() map[string][]string { return map[string][]string{"in": {""}} }

func (p *printer) Run(ctx context.Context, env plugins.Env) error {
	in, err := need(env, "in")
	if err != nil {
		return err
	}
	for {
		m, err := recv(ctx, in, "in")
		if err != nil {
			return err
		}
		line(env, "%s", formatMsg(p.format, m))
	}
}

// formatMsg renders one message in the given format.
func formatMsg(format string, m socket.Msg) string {
	switch format {
	case "hex":
		parts := make([]string, len(m))
		for i, f := range m {
			parts[i] = hex.EncodeToString(f)
		}
		return strings.Join(parts, " | ")
	case "json":
		parts := make([]any, len(m))
		for i, f := range m {
			if utf8.Valid(f) {
				parts[i] = string(f)
			} else {
				parts[i] = map[string]string{"base64": base64.StdEncoding.EncodeToString(f)}
			}
		}
		b, _ := json.Marshal(parts) // strings and maps of strings always marshal
		return string(b)
	}
	parts := make([]string, len(m))
	for i, f := range m {
		if printable(f) {
			parts[i] = string(f)
		} else {
			parts[i] = "0x" + hex.EncodeToString(f)
		}
	}
	return strings.Join(parts, " | ")
}

func printable(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && r != '\t' {
			return false
		}
	}
	return true
}
