package socket

import (
	"fmt"
	"testing"
	"time"
)

// xsubCount is how many peer subscriptions an XPUB holds for prefix k.
func xsubCount(s *Socket, k string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pat.(*xpub).subs.get([]byte(k))
}

// XPUB passes subscription messages to Recv: by default only a prefix's
// first subscribe and last cancel across peers; with XPubVerbose every
// subscribe; with XPubVerboser every subscribe and every cancel, including
// those of a peer that disconnects while others stay subscribed.
func TestXPubVerbose(t *testing.T) {
	type step struct {
		do   string
		want []bool // delivered? for default, verbose, verboser
	}
	steps := []step{
		{"sub1 subscribes", []bool{true, true, true}},
		{"sub2 subscribes", []bool{false, true, true}},
		{"sub1 cancels", []bool{false, false, true}},
		{"sub1 subscribes again", []bool{false, true, true}},
		{"sub1 disconnects", []bool{false, false, true}},
		{"sub2 disconnects", []bool{true, true, true}},
	}
	modes := []struct {
		name string
		o    Options
	}{
		{"default", Options{}},
		{"XPubVerbose", Options{XPubVerbose: true}},
		{"XPubVerboser", Options{XPubVerboser: true}},
	}
	for _, tr := range transports {
		for mi, mode := range modes {
			t.Run(tr.name+"/"+mode.name, func(t *testing.T) {
				e := newEnv(t)
				xpub := e.sock(XPUB, mode.o)
				ep := e.bind(xpub, tr.ep(t))
				sub1, sub2 := e.sock(SUB, Options{}), e.sock(SUB, Options{})
				e.connect(sub1, ep)
				e.connect(sub2, ep)
				waitFor(e, "both SUBs connected", func() bool { return xpub.Stats().Peers == 2 })
				for i, st := range steps {
					var settled func() bool // the XPUB has processed the step
					switch i {
					case 0, 1, 3:
						s := sub1
						if i == 1 {
							s = sub2
						}
						if err := s.Subscribe([]byte("a")); err != nil {
							t.Fatal(err)
						}
						n := 2
						if i == 0 {
							n = 1
						}
						settled = func() bool { return xsubCount(xpub, "a") == n }
					case 2:
						if err := sub1.Unsubscribe([]byte("a")); err != nil {
							t.Fatal(err)
						}
						settled = func() bool { return xsubCount(xpub, "a") == 1 }
					case 4:
						_ = sub1.Close()
						settled = func() bool { return xpub.Stats().Peers == 1 && xsubCount(xpub, "a") == 1 }
					case 5:
						_ = sub2.Close()
						settled = func() bool { return xpub.Stats().Peers == 0 && xsubCount(xpub, "a") == 0 }
					}
					if st.want[mi] {
						want := "\x01a"
						if i == 2 || i >= 4 {
							want = "\x00a"
						}
						if m := e.recv(xpub); !eq(m, want) {
							t.Fatalf("%s: XPUB Recv %q, want %q", st.do, m, want)
						}
					}
					waitFor(e, fmt.Sprintf("%s to reach the XPUB", st.do), settled)
					if !t.Failed() {
						e.nothing(xpub, 30*time.Millisecond)
					}
				}
			})
		}
	}
}
