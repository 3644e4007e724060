package observe

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/topo-zmq/topo/runtime"
)

// TapLine is one line of /v1/tap's stream (JSON, one object a line):
// either a message (Time, Dir, Frames) or, before the next message once
// the tap fell behind, how many messages it skipped since the last line.
type TapLine struct {
	Time      *time.Time `json:"time,omitempty"`
	Dir       string     `json:"dir,omitempty"`    // "in" (received by the node) or "out" (sent)
	Frames    [][]byte   `json:"frames,omitempty"` // base64 in JSON; each cut to runtime.TapFrameMax
	Truncated bool       `json:"truncated,omitempty"`
	Skipped   uint64     `json:"skipped,omitempty"`
}

// Tap serves /v1/tap?socket=NODE.SOCKET[&ring=N]: a stream of TapLines,
// the messages through that socket of r's running topology
// (runtime.Runtime.Tap, a ring of N, default runtime.DefaultTapRing),
// until the client goes away or the run ends. It shows message contents:
// serve it only when asked to (topo apply -http-tap). 400 for a malformed
// request, 404 for an unknown node or socket, 501 for a node that cannot
// be tapped (a plugin built before taps crossed the plugin protocol),
// 503 when r is not running (a
// request made as the run starts waits up to 5 s for it).
func Tap(r *runtime.Runtime) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		name := req.URL.Query().Get("socket")
		i := strings.LastIndexByte(name, '.')
		if i <= 0 || i == len(name)-1 {
			http.Error(w, "want ?socket=NODE.SOCKET", http.StatusBadRequest)
			return
		}
		ring := 0
		if s := req.URL.Query().Get("ring"); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 || n > 1<<20 {
				http.Error(w, "ring: want a number of messages in 1..1048576", http.StatusBadRequest)
				return
			}
			ring = n
		}
		t, err := r.Tap(name[:i], name[i+1:], ring)
		// A tap asked for as apply starts waits a moment for the run.
		for wait := time.Now().Add(5 * time.Second); errors.Is(err, runtime.ErrNotRunning) && time.Now().Before(wait); {
			select {
			case <-req.Context().Done():
				return
			case <-time.After(10 * time.Millisecond):
			}
			t, err = r.Tap(name[:i], name[i+1:], ring)
		}
		if err != nil {
			code := http.StatusServiceUnavailable
			switch {
			case errors.Is(err, runtime.ErrNoSuchSocket):
				code = http.StatusNotFound
			case errors.Is(err, runtime.ErrTapNotSupported):
				code = http.StatusNotImplemented
			}
			http.Error(w, err.Error(), code)
			return
		}
		defer t.Close()
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		fl, _ := w.(http.Flusher)
		flush := func() {
			if fl != nil {
				fl.Flush()
			}
		}
		flush()
		enc := json.NewEncoder(w)
		tick := time.NewTicker(200 * time.Millisecond) // report skips even when nothing gets through
		defer tick.Stop()
		for {
			select {
			case m := <-t.C:
				if n := t.Skipped(); n > 0 {
					if enc.Encode(TapLine{Skipped: n}) != nil {
						return
					}
				}
				dir := "in"
				if m.Out {
					dir = "out"
				}
				tm := m.Time.UTC()
				if enc.Encode(TapLine{Time: &tm, Dir: dir, Frames: m.Frames, Truncated: m.Truncated}) != nil {
					return
				}
				if len(t.C) == 0 {
					flush()
				}
			case <-tick.C:
				if n := t.Skipped(); n > 0 {
					if enc.Encode(TapLine{Skipped: n}) != nil {
						return
					}
					flush()
				}
			case <-t.Done():
				if n := t.Skipped(); n > 0 {
					_ = enc.Encode(TapLine{Skipped: n})
				}
				return
			case <-req.Context().Done():
				return
			}
		}
	})
}
