package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/topo-zmq/topo/runtime/observe"
)

const tapHelp = `Usage: topo tap [options] NODE.SOCKET

  Prints the messages flowing through one socket of a running topology,
  both directions ("in": the node received it, "out": it sent it), each
  with its time and its frames, read from /v1/tap of a
  ` + "`topo apply -http ADDRESS -http-tap`" + ` (the endpoint shows message
  contents, so apply serves it only when asked to).

  The tap samples without slowing the socket: it holds up to -ring
  messages, and when it falls behind it skips messages and says how many
  ("skipped N messages"). Any node can be tapped: a process or plugin
  node (isolation = "process") is tapped in its own process, which
  copies into a ring of its own and counts its skips the same way (a
  plugin built against an older topo cannot be tapped: rebuild it).

  Formats: text prints each frame quoted (Go syntax, so any byte is
  visible), hex prints each frame in hexadecimal, json prints the
  endpoint's lines as they come: {"time","dir","frames" (base64)} or
  {"skipped"}.

  Exit status: 0 after -n messages, when interrupted or when the run
  ended; 1 when the tap cannot be attached (no such node or socket, no
  -http-tap, a plugin too old to be tapped, nobody listening).

Options:
`

// runTap implements `topo tap`.
func runTap(ctx context.Context, c *cli, args []string) int {
	fs := newFlagSet(c, "tap", tapHelp)
	addr := fs.String("addr", "127.0.0.1:9464", "the -http address of topo apply")
	count := fs.Int("n", 10, "stop after this many messages; 0 runs until interrupted")
	format := fs.String("format", "text", "text, hex or json")
	ring := fs.Int("ring", 0, "messages the tap holds before it skips (0: the server's default, 1024)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 1
	}
	if fs.NArg() != 1 || *count < 0 || *ring < 0 || (*format != "text" && *format != "hex" && *format != "json") {
		fs.Usage()
		return 1
	}
	target := fs.Arg(0)
	if i := strings.LastIndexByte(target, '.'); i <= 0 || i == len(target)-1 {
		fmt.Fprintf(c.stderr, "topo tap: %q: want NODE.SOCKET (e.g. weather-client.in)\n", target)
		return 1
	}
	q := url.Values{"socket": {target}}
	if *ring > 0 {
		q.Set("ring", strconv.Itoa(*ring))
	}
	u := "http://" + strings.TrimPrefix(*addr, "http://") + "/v1/tap?" + q.Encode()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // SIGINT/SIGTERM end it
		select {
		case <-c.signals:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		fmt.Fprintf(c.stderr, "topo tap: %v\n", err)
		return 1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0
		}
		fmt.Fprintf(c.stderr, "topo tap: %s: %v (is `topo apply -http %s -http-tap` running?)\n", *addr, err, *addr)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		msg := strings.TrimSpace(string(b))
		if resp.StatusCode == http.StatusNotFound && !strings.Contains(msg, "tap ") {
			msg = "no /v1/tap here: start topo apply with -http-tap"
		}
		fmt.Fprintf(c.stderr, "topo tap: %s: %s\n", target, msg)
		return 1
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	seen := 0
	for sc.Scan() {
		if *format == "json" {
			fmt.Fprintln(c.stdout, sc.Text())
		}
		var l observe.TapLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			fmt.Fprintf(c.stderr, "topo tap: %s: bad line from the server: %v\n", target, err)
			return 1
		}
		if l.Time == nil {
			if l.Skipped > 0 && *format != "json" {
				fmt.Fprintf(c.stdout, "... skipped %d message%s (the tap fell behind)\n", l.Skipped, plural(int(min(l.Skipped, 2))))
			}
			continue
		}
		if *format != "json" {
			fmt.Fprintln(c.stdout, tapText(l, *format == "hex"))
		}
		seen++
		if *count > 0 && seen >= *count {
			return 0
		}
	}
	if ctx.Err() == nil && sc.Err() != nil && !errors.Is(sc.Err(), context.Canceled) {
		fmt.Fprintf(c.stderr, "topo tap: %s: %v\n", target, sc.Err())
	}
	return 0
}

// tapText renders one message: time, direction, frames.
func tapText(l observe.TapLine, asHex bool) string {
	var b strings.Builder
	b.WriteString(l.Time.Local().Format("15:04:05.000000"))
	b.WriteString(" ")
	fmt.Fprintf(&b, "%-3s", l.Dir)
	for i, f := range l.Frames {
		if i > 0 {
			b.WriteString(" |")
		}
		b.WriteString(" ")
		if asHex {
			if len(f) == 0 {
				b.WriteString("-")
			} else {
				b.WriteString(hex.EncodeToString(f))
			}
		} else {
			b.WriteString(strconv.Quote(string(f)))
		}
	}
	if l.Truncated {
		b.WriteString(" (frames cut)")
	}
	return b.String()
}
