package pluginhost

import (
	"context"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"

	hclog "github.com/hashicorp/go-hclog"

	"github.com/topo-zmq/topo/internal/lines"
)

// hclogger adapts a *slog.Logger to the hclog.Logger go-plugin wants. It is
// how a plugin's log lines (hclog JSON on its stderr, parsed by go-plugin)
// reach topo's log, tagged with the node's name by the logger passed in.
type hclogger struct {
	l    *slog.Logger
	name string
	args []any
}

var _ hclog.Logger = (*hclogger)(nil)

func newHCLogger(l *slog.Logger) *hclogger { return &hclogger{l: l} }

func slogLevel(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace:
		return slog.LevelDebug - 4
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelInfo
}

// dropped are keys go-plugin or the plugin add that topo's log already has.
var droppedKeys = map[string]bool{"timestamp": true, "node": true}

func (h *hclogger) Log(level hclog.Level, msg string, args ...any) {
	lv := slogLevel(level)
	if h.name == "" && lv == slog.LevelInfo {
		// go-plugin's own chatter ("plugin process exited"), not a line
		// the plugin logged (those come through a Named logger).
		lv = slog.LevelDebug
	}
	ctx := context.Background()
	if !h.l.Enabled(ctx, lv) {
		return
	}
	attrs := make([]any, 0, len(h.args)+len(args))
	all := append(append([]any{}, h.args...), args...)
	for i := 0; i+1 < len(all); i += 2 {
		if k, ok := all[i].(string); ok && droppedKeys[k] {
			continue
		}
		attrs = append(attrs, all[i], all[i+1])
	}
	h.l.Log(ctx, lv, msg, attrs...)
}

func (h *hclogger) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hclogger) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hclogger) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hclogger) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hclogger) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hclogger) enabled(l hclog.Level) bool {
	return h.l.Enabled(context.Background(), slogLevel(l))
}
func (h *hclogger) IsTrace() bool { return h.enabled(hclog.Trace) }
func (h *hclogger) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *hclogger) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *hclogger) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *hclogger) IsError() bool { return h.enabled(hclog.Error) }

func (h *hclogger) ImpliedArgs() []any { return h.args }

func (h *hclogger) With(args ...any) hclog.Logger {
	c := *h
	c.args = append(append([]any{}, h.args...), args...)
	return &c
}

func (h *hclogger) Name() string { return h.name }

func (h *hclogger) Named(name string) hclog.Logger {
	c := *h
	if c.name != "" {
		name = c.name + "." + name
	}
	c.name = name
	return &c
}

func (h *hclogger) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	return &c
}

// SetLevel is ignored: the slog handler decides.
func (h *hclogger) SetLevel(hclog.Level) {}

func (h *hclogger) GetLevel() hclog.Level {
	for _, l := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if h.enabled(l) {
			return l
		}
	}
	return hclog.Off
}

func (h *hclogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

func (h *hclogger) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return &lineLogger{log: h.l, msg: "plugin log"}
}

// lineLogger logs each line written to it at debug level. go-plugin sends
// what a plugin prints on its stdout and stderr here, so stray prints end
// up in the log instead of the user's output or the protocol. Safe for
// concurrent use.
type lineLogger struct {
	log *slog.Logger
	msg string

	mu  sync.Mutex
	buf []byte
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = lines.Split(append(w.buf, p...), func(l []byte) {
		if line := strings.TrimRight(string(l), "\r\n"); line != "" {
			w.log.Debug(w.msg, "line", line)
		}
	})
	if len(w.buf) > 64<<10 { // a very long line without newline
		w.log.Debug(w.msg, "line", string(w.buf))
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

// tail keeps the last bytes of a plugin's raw stderr, for error messages
// about a plugin that died before or during its handshake. Safe for
// concurrent use.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 2048

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailMax {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-tailMax:]...)
	}
	return len(p), nil
}

// String returns the kept stderr lines that are not structured (JSON) log
// lines, joined on one line.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var keep []string
	for _, l := range strings.Split(string(t.buf), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "{") {
			continue
		}
		keep = append(keep, l)
	}
	return strings.Join(keep, " | ")
}
