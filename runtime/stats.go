package runtime

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/topo-zmq/topo/plugins"
	"github.com/topo-zmq/topo/runtime/socket"
)

// pollStats refreshes every node's counters each StatsInterval and calls
// OnStats, until ctx is done.
func (r *Runtime) pollStats(ctx context.Context, nodes []*node) {
	t := time.NewTicker(r.opts.StatsInterval)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.pollOnce(nodes, now.Sub(last))
			last = now
			if r.opts.OnStats != nil {
				r.opts.OnStats(r.Status())
			}
		}
	}
}

// pollOnce reads the live actors' counters; elapsed > 0 updates rates.
func (r *Runtime) pollOnce(nodes []*node, elapsed time.Duration) {
	for _, n := range nodes {
		n.logs.tick()
		n.mu.Lock()
		in, out, drop, blk := n.lastIn, n.lastOut, n.lastDrop, n.lastBlk
		if n.actor != nil {
			st := n.actor.Stats()
			n.sockLast = st
			in, out = sumStats(st)
			drop, blk = sumDropped(st), sumBlocked(st)
		}
		if elapsed > 0 {
			secs := elapsed.Seconds()
			n.rateIn = float64(sub(in, n.lastIn)) / secs
			n.rateOut = float64(sub(out, n.lastOut)) / secs
		}
		n.lastIn, n.lastOut, n.lastDrop, n.lastBlk = in, out, drop, blk
		n.mu.Unlock()
	}
}

func sub(a, b uint64) uint64 {
	if a < b {
		return a // a fresh actor after a restart
	}
	return a - b
}

func sumStats(m map[string]socket.Stats) (in, out uint64) {
	for _, s := range m {
		in += s.MsgsIn
		out += s.MsgsOut
	}
	return in, out
}

func sumDropped(m map[string]socket.Stats) (n uint64) {
	for _, s := range m {
		n += s.Dropped
	}
	return n
}

func sumBlocked(m map[string]socket.Stats) (d time.Duration) {
	for _, s := range m {
		d += s.SendBlocked
	}
	return d
}

// waiting lists the sockets of a that are still short of their expected
// peers. For a socket with named peers (a topology with hosts) it names
// the missing ones and, through hostOf, the host each should come from:
// "in: 1/2 peers, missing worker[3].out (host workers)".
func waiting(spec plugins.Spec, a plugins.Actor, hostOf func(peer string) string) []string {
	st := a.Stats()
	var out []string
	for _, s := range spec.Sockets {
		if s.Expect <= 0 && len(s.Peers) == 0 {
			continue
		}
		what := "peers"
		if s.Type == socket.PUB || s.Type == socket.XPUB {
			what = "subscribers"
		}
		if len(s.Peers) > 0 {
			// From the Actor's Stats only: a receiving socket's peer that
			// sent and left (which Ready counts) is listed as missing
			// here while the socket still waits for others.
			miss := plugins.MissingPeers(s.Type, spec.Run, s.Peers, st[s.Name].Conns, nil)
			if len(miss) == 0 {
				continue
			}
			names := make([]string, len(miss))
			for i, m := range miss {
				names[i] = m
				if h := hostOf(m); h != "" {
					names[i] += " (host " + h + ")"
				}
			}
			out = append(out, fmt.Sprintf("%s: %d/%d %s, missing %s", s.Name, len(s.Peers)-len(miss), len(s.Peers), what, strings.Join(names, ", ")))
			continue
		}
		have := st[s.Name].Wired(s.Type)
		if have < uint64(s.Expect) {
			out = append(out, fmt.Sprintf("%s: %d/%d %s", s.Name, have, s.Expect, what))
		}
	}
	sort.Strings(out)
	return out
}
