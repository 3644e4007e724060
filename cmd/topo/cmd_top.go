package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/topo-zmq/topo/runtime/observe"
)

const topHelp = `Usage: topo top [options]

  Shows a running topology live: every node's state, restarts, messages in
  and out, rates, drops, messages queued on its sockets and the time its
  sends waited at a high-water mark (blocked), the bottleneck first, then
  the edges with messages on them, read from /v1/status of a
  ` + "`topo apply -http`" + `.

  On a terminal it redraws a table every interval; q or Ctrl-C exits.
  Without a terminal it writes one JSON snapshot (the /v1/status body) per
  line every interval, until interrupted or -n snapshots.

  Exit status: 0 when quit, interrupted or the run ended (after at least
  one snapshot); 1 when the address cannot be read at all.

Options:
`

// runTop implements `topo top`.
func runTop(ctx context.Context, c *cli, args []string) int {
	fs := newFlagSet(c, "top", topHelp)
	addr := fs.String("addr", "127.0.0.1:9464", "the -http address of topo apply")
	interval := fs.Duration("interval", time.Second, "how often to refresh")
	count := fs.Int("n", 0, "stop after this many snapshots; 0 runs until quit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 1
	}
	if fs.NArg() != 0 || *interval <= 0 {
		fs.Usage()
		return 1
	}
	url := "http://" + strings.TrimPrefix(*addr, "http://") + "/v1/status"
	client := &http.Client{Timeout: 5 * time.Second}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // SIGINT/SIGTERM end it like q
		select {
		case <-c.signals:
			cancel()
		case <-ctx.Done():
		}
	}()

	// A terminal on both ends: raw keys in, a redrawn table out.
	in, _ := c.stdin.(*os.File)
	out, _ := c.stdout.(*os.File)
	tty := c.isTTY && in != nil && out != nil && term.IsTerminal(int(in.Fd()))
	if tty {
		old, err := term.MakeRaw(int(in.Fd()))
		if err != nil {
			tty = false
		} else {
			defer term.Restore(int(in.Fd()), old)
			fmt.Fprint(out, "\x1b[?25l") // hide the cursor
			defer fmt.Fprint(out, "\x1b[?25h\r\n")
			go func() { // owned by the process: it ends with it
				b := make([]byte, 1)
				for {
					if n, err := in.Read(b); err != nil || n == 1 && (b[0] == 'q' || b[0] == 'Q' || b[0] == 3) {
						cancel()
						return
					}
				}
			}()
		}
	}

	seen := 0
	t := time.NewTicker(*interval)
	defer t.Stop()
	for {
		body, raw, err := fetchStatus(ctx, client, url)
		switch {
		case ctx.Err() != nil:
			return 0
		case err != nil && seen > 0:
			if tty {
				fmt.Fprint(out, "\r\n")
			}
			fmt.Fprintf(c.stderr, "topo top: %s: the run ended (%v)\n", *addr, err)
			return 0
		case err != nil:
			fmt.Fprintf(c.stderr, "topo top: %s: %v (is `topo apply -http %s` running?)\n", *addr, err, *addr)
			return 1
		}
		seen++
		if tty {
			fmt.Fprint(out, "\x1b[H\x1b[2J"+strings.ReplaceAll(topTable(*addr, body, termWidth(out)), "\n", "\r\n"))
		} else {
			var line bytes.Buffer
			if err := json.Compact(&line, raw); err != nil {
				fmt.Fprintf(c.stderr, "topo top: %v\n", err)
				return 1
			}
			fmt.Fprintln(c.stdout, line.String())
		}
		if *count > 0 && seen >= *count {
			return 0
		}
		select {
		case <-ctx.Done():
			return 0
		case <-t.C:
		}
	}
}

func fetchStatus(ctx context.Context, client *http.Client, url string) (observe.StatusBody, []byte, error) {
	var body observe.StatusBody
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return body, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return body, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return body, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, nil, fmt.Errorf("%s", resp.Status)
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return body, nil, fmt.Errorf("not a topo status: %w", err)
	}
	return body, raw, nil
}

// topTable renders one screen of `topo top`, cut to width: the nodes,
// the bottleneck first (most messages queued on its sockets, then the
// longest blocked, then the most drops; otherwise in topology order),
// then the edges with messages on them.
func topTable(addr string, st observe.StatusBody, width int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "topo top  %s  run %s  %s  (q quits)\n\n", addr, st.Run, st.Time.Local().Format("15:04:05"))
	w := len("NODE")
	for _, n := range st.Nodes {
		w = max(w, len(n.Name))
	}
	queued := func(n observe.NodeStatus) int {
		q := 0
		for _, s := range n.Sockets {
			for _, e := range s.Edges {
				q += e.QueuedIn + e.QueuedOut
			}
		}
		return q
	}
	nodes := append([]observe.NodeStatus(nil), st.Nodes...)
	sort.SliceStable(nodes, func(i, j int) bool {
		a, b := nodes[i], nodes[j]
		if qa, qb := queued(a), queued(b); qa != qb {
			return qa > qb
		}
		if a.Blocked != b.Blocked {
			return a.Blocked > b.Blocked
		}
		return a.Dropped > b.Dropped
	})
	fmt.Fprintf(&b, "%-*s  %-10s  %8s  %10s  %10s  %9s  %9s  %9s  %8s  %8s  %5s\n", w, "NODE", "STATE", "RESTARTS", "MSGS IN", "MSGS OUT", "IN/s", "OUT/s", "DROPPED", "QUEUED", "BLOCKED", "PEERS")
	for _, n := range nodes {
		peers := 0
		for _, s := range n.Sockets {
			peers += s.Peers
		}
		fmt.Fprintf(&b, "%-*s  %-10s  %8d  %10d  %10d  %9s  %9s  %9d  %8d  %8s  %5d\n", w, n.Name, n.State, n.Restarts, n.MsgsIn, n.MsgsOut,
			humanRate(n.RateIn), humanRate(n.RateOut), n.Dropped, queued(n), humanDuration(time.Duration(n.Blocked*float64(time.Second))), peers)
	}
	var edges []string
	for _, n := range st.Nodes {
		for _, s := range n.Sockets {
			for _, e := range s.Edges {
				peer := e.Peer
				if e.External {
					peer = "external"
				}
				if e.Sent > 0 || e.QueuedOut > 0 {
					edges = append(edges, fmt.Sprintf("%s.%s -> %s  %d sent, %d queued", n.Name, s.Name, peer, e.Sent, e.QueuedOut))
				}
				if e.External && (e.Received > 0 || e.QueuedIn > 0) || !e.External && e.QueuedIn > 0 {
					edges = append(edges, fmt.Sprintf("%s -> %s.%s  %d received, %d queued for the node", peer, n.Name, s.Name, e.Received, e.QueuedIn))
				}
			}
		}
	}
	if len(edges) > 0 {
		b.WriteString("\nEDGES\n")
		for _, e := range edges {
			b.WriteString(e + "\n")
		}
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	for i, l := range lines {
		if r := []rune(l); len(r) > width {
			lines[i] = string(r[:width])
		}
	}
	return strings.Join(lines, "\n") + "\n"
}
