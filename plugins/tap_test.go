package plugins

import (
	"context"
	"testing"
	"time"

	"github.com/topo-zmq/topo/plugins/pluginproto"
	"github.com/topo-zmq/topo/runtime/socket"
)

// TestTapStreamRing: the plugin side of a Tap stream copies into a
// bounded ring and counts what finds it full, sending the count with the
// next message (or alone when no message follows); frames are cut at
// TapFrameMax; the socket's tap goes when its last stream ends.
func TestTapStreamRing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := &nodeServer{}
	events := make(chan *pluginproto.TapEvent)
	tctx, tcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- s.Tap(tctx, &pluginproto.TapRequest{Socket: "in", Ring: 1}, func(ev *pluginproto.TapEvent) error {
			select {
			case events <- ev:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	next := func() *pluginproto.TapEvent {
		select {
		case ev := <-events:
			return ev
		case <-ctx.Done():
			t.Fatal("no tap event")
			return nil
		}
	}
	if ev := next(); !ev.Attached {
		t.Fatalf("first event %+v, want Attached", ev)
	}
	s.mu.Lock()
	h := s.taps["in"]
	s.mu.Unlock()
	if h == nil {
		t.Fatal("no tap installed")
	}
	big := make([]byte, TapFrameMax+1)
	h.see(true, socket.Msg{[]byte("a"), big}) // into the ring (or straight to send)
	h.see(false, socket.Msg{[]byte("b")})
	h.see(false, socket.Msg{[]byte("c")})
	ev := next()
	if !ev.Msg || !ev.Out || len(ev.Frames) != 2 || string(ev.Frames[0]) != "a" || len(ev.Frames[1]) != TapFrameMax || !ev.Truncated || ev.Time == 0 {
		t.Errorf("message event %+v", ev)
	}
	// b or c may have found room once the loop took a; what did not is
	// reported, with the next message or alone within tapSkipFlush.
	seen, skipped := uint64(0), ev.Skipped
	for seen+skipped < 2 {
		ev := next()
		skipped += ev.Skipped
		if ev.Msg {
			seen++
		}
	}
	if skipped == 0 {
		t.Error("a ring of 1 filled by three messages skipped none")
	}
	tcancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	left := len(s.taps)
	s.mu.Unlock()
	if left != 0 {
		t.Errorf("%d tapped sockets left after the last stream ended", left)
	}
}
