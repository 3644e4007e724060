package socket_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/topo-zmq/topo/runtime/socket"
)

// zmtpPing encodes a PING command with a TTL in deciseconds and a context.
func zmtpPing(ttlDeciseconds uint16, ctx string) []byte {
	body := append([]byte("\x04PING"), byte(ttlDeciseconds>>8), byte(ttlDeciseconds))
	return zmtpFrame(flagCommand, append(body, ctx...))
}

// disconnectLog records EventDisconnected events.
type disconnectLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *disconnectLog) record(e socket.Event) {
	if e.Kind != socket.EventDisconnected {
		return
	}
	l.mu.Lock()
	l.errs = append(l.errs, e.Err)
	l.mu.Unlock()
}

// ttlDrops counts the disconnects whose error names the TTL, waiting up to
// a second for the first one (the event follows the close the peer sees),
// and returns the events for a failure message.
func (l *disconnectLog) ttlDrops() (int, string) {
	deadline := time.Now().Add(time.Second)
	for {
		l.mu.Lock()
		n := 0
		for _, err := range l.errs {
			if err != nil && strings.Contains(err.Error(), "TTL") {
				n++
			}
		}
		all := fmt.Sprint(l.errs)
		l.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			return n, all
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A peer's PING carrying a TTL asks topo to drop the connection when nothing
// at all arrives from the peer for that long (ZMTP 3.1, libzmq's
// ZMQ_HEARTBEAT_TTL). The topo socket heartbeats on its own (PINGs every
// 50 ms, but a 1-minute timeout of its own), so the only thing that can drop
// the silent peer in time is the peer's TTL, and topo's own PINGs and PONGs
// going out must not count as traffic from the peer.
func TestPeerPingTTL(t *testing.T) {
	const ttl = 300 * time.Millisecond
	opts := func(l *disconnectLog) socket.Options {
		return socket.Options{HeartbeatIvl: 50 * time.Millisecond, HeartbeatTimeout: time.Minute, OnEvent: l.record}
	}

	t.Run("silent after a PING with a TTL is dropped", func(t *testing.T) {
		var l disconnectLog
		h := newHostile(t, socket.PULL, opts(&l))
		c := h.dial()
		h.handshake(c)
		start := time.Now()
		h.write(c, zmtpPing(uint16(ttl/(100*time.Millisecond)), "ctx"))
		got := h.expectClosed(c, "a PING with a 300 ms TTL and silence")
		el := time.Since(start)
		if el < ttl-20*time.Millisecond {
			t.Errorf("dropped after %v, before the peer's TTL of %v", el, ttl)
		}
		if el > 2*time.Second {
			t.Errorf("dropped after %v, want about the peer's TTL of %v", el, ttl)
		}
		if !bytes.Contains(got, []byte("\x04PONG")) {
			t.Errorf("topo never answered the PING with a PONG; it sent % x", got)
		}
		h.waitStats("Disconnects == 1", func(s socket.Stats) bool { return s.Disconnects == 1 && s.Peers == 1 })
		if n, all := l.ttlDrops(); n != 1 {
			t.Errorf("EventDisconnected naming the TTL: %d, want 1 (events: %v)", n, all)
		}
		h.exchange("after the silent peer was dropped")
	})

	t.Run("traffic within the TTL keeps the connection", func(t *testing.T) {
		var l disconnectLog
		h := newHostile(t, socket.PULL, opts(&l))
		c := h.dial()
		h.handshake(c)
		h.write(c, zmtpPing(uint16(ttl/(100*time.Millisecond)), ""))
		// Messages every 100 ms, for 3 TTLs: each one cancels the TTL.
		ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
		defer cancel()
		for i := 0; i < 9; i++ {
			time.Sleep(ttl / 3)
			h.write(c, zmtpMessage("keep", "alive"))
			m, err := h.srv.Recv(ctx)
			if err != nil || !sameMsg(m, socket.Msg{[]byte("keep"), []byte("alive")}) {
				t.Fatalf("Recv %d: %s, %v", i, describe(m), err)
			}
		}
		if st := h.srv.Stats(); st.Disconnects != 0 {
			t.Fatalf("stats %+v: the peer was dropped while sending within its TTL", st)
		}
		// The TTL stays in force after the messages (topo does not, as
		// libzmq does, forget it at the next frame that is not a PING):
		// silence now ends the connection.
		start := time.Now()
		h.expectClosed(c, "messages within the TTL, then silence")
		if el := time.Since(start); el < ttl-20*time.Millisecond || el > 2*time.Second {
			t.Errorf("dropped %v after the last message, want about the TTL of %v", el, ttl)
		}
		h.waitOnlyGoodPeer()
		if n, all := l.ttlDrops(); n != 1 {
			t.Errorf("EventDisconnected naming the TTL: %d, want 1 (events: %v)", n, all)
		}
		h.exchange("after the peer was dropped")
	})

	t.Run("a PING with TTL 0 withdraws the TTL", func(t *testing.T) {
		var l disconnectLog
		h := newHostile(t, socket.PULL, opts(&l))
		c := h.dial()
		h.handshake(c)
		h.write(c, zmtpPing(uint16(ttl/(100*time.Millisecond)), ""))
		h.write(c, zmtpPing(0, ""))
		h.expectOpen(c, 4*ttl, "after a PING with TTL 0")
		h.exchange("while the peer is idle")
		if st := h.srv.Stats(); st.Disconnects != 0 {
			t.Fatalf("stats %+v: dropped a peer that asked for no TTL", st)
		}
	})
}
