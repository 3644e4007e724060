package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/topo-zmq/topo/runtime"
)

// What apply shows while and after it runs: log records, the summary
// table and the live status line.

// logDiagnostics writes an invalid (or warned-about) file's diagnostics
// as log records, one each, for a JSON log.
func logDiagnostics(l *slog.Logger, d *runtime.DiagnosticsError) {
	for _, jd := range toJSONDiags(d.Diagnostics) {
		level := slog.LevelWarn
		if jd.Severity == "error" {
			level = slog.LevelError
		}
		attrs := []any{"diagnostic", jd.Severity}
		if jd.Detail != "" {
			attrs = append(attrs, "detail", jd.Detail)
		}
		if jd.Range != nil {
			attrs = append(attrs, "range", jd.Range)
		}
		l.Log(context.Background(), level, jd.Summary, attrs...)
	}
}

// logEvent logs what the runtime's own log does not say: it already logs
// failures, restarts and nodes starting before their peers, each once.
func logEvent(l *slog.Logger, ev runtime.Event) {
	attrs := []any{"node", ev.Instance}
	switch ev.Kind {
	case runtime.EventFailed, runtime.EventRestarting:
		return // the runtime logged "node failed", "restarting node"
	case runtime.EventStarting, runtime.EventReady, runtime.EventRunning:
		l.Debug("node "+string(ev.Kind), attrs...)
	default:
		l.Info("node "+string(ev.Kind), attrs...)
	}
}

// totals sums a status snapshot up.
type totals struct {
	instances, up, done, restarts int
	notRunning                    []string // neither running nor finished
	rateIn, rateOut               float64
	dropped                       uint64
	blocked                       time.Duration
}

func sumUp(st []runtime.NodeStatus) totals {
	t := totals{instances: len(st)}
	for _, s := range st {
		switch s.State {
		case runtime.StateRunning:
			t.up++
			t.rateIn += s.RateIn
			t.rateOut += s.RateOut
		case runtime.StateFinished:
			t.done++
		default:
			t.notRunning = append(t.notRunning, s.Name+" "+string(s.State))
		}
		t.restarts += s.Restarts
		t.dropped += s.Dropped
		t.blocked += s.Blocked
	}
	return t
}

// logStatus logs a status record: numbers as numbers, rates per running
// node in messages per second.
func logStatus(l *slog.Logger, st []runtime.NodeStatus) {
	t := sumUp(st)
	var rates []any
	for _, s := range st {
		if s.State == runtime.StateRunning && s.RateIn+s.RateOut > 0 {
			rates = append(rates, slog.Group(s.Name, "in", round1(s.RateIn), "out", round1(s.RateOut)))
		}
	}
	attrs := []any{
		"up", t.up, "instances", t.instances, "finished", t.done, "restarts", t.restarts,
		"dropped", t.dropped, "blocked_seconds", round1(t.blocked.Seconds()), "in_per_s", round1(t.rateIn), "out_per_s", round1(t.rateOut),
	}
	if len(t.notRunning) > 0 {
		attrs = append(attrs, "not_running", t.notRunning)
	}
	if len(rates) > 0 {
		attrs = append(attrs, slog.Group("rates", rates...))
	}
	l.Info("status", attrs...)
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// humanDuration is a short duration: "0s", "340ms", "1.2s", "3m05s".
func humanDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
}

func humanRate(r float64) string {
	switch {
	case r >= 1e6:
		return fmt.Sprintf("%.1fM", r/1e6)
	case r >= 1e4:
		return fmt.Sprintf("%.0fk", r/1e3)
	default:
		return fmt.Sprintf("%.0f", r)
	}
}

// summaryNode is one instance in the JSON summary record.
type summaryNode struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	State    string `json:"state"`
	Restarts int    `json:"restarts"`
	MsgsIn   uint64 `json:"msgs_in"`
	MsgsOut  uint64 `json:"msgs_out"`
	Dropped  uint64 `json:"dropped"`
	// Blocked: seconds its sockets' Send waited at the high-water mark.
	Blocked float64 `json:"blocked_seconds"`
	// Held: messages the instance held when it went down, over restarts.
	Held uint64 `json:"held"`
	// Approx: the counts are lower bounds (a process node was killed).
	Approx bool   `json:"approx"`
	Err    string `json:"err,omitempty"`
}

// writeSummary ends a run: a table on w, or one "summary" log record.
func writeSummary(w io.Writer, l *slog.Logger, asJSON bool, st []runtime.NodeStatus, color bool) {
	if asJSON {
		nodes := make([]summaryNode, 0, len(st))
		var t struct{ in, out, dropped, held uint64 }
		for _, s := range st {
			sn := summaryNode{Name: s.Name, Kind: s.Kind, State: string(s.State), Restarts: s.Restarts,
				MsgsIn: s.MsgsIn, MsgsOut: s.MsgsOut, Dropped: s.Dropped, Blocked: round3(s.Blocked.Seconds()), Held: s.Held, Approx: s.Approx}
			if s.Err != nil {
				sn.Err = s.Err.Error()
			}
			nodes = append(nodes, sn)
			t.in, t.out, t.dropped, t.held = t.in+s.MsgsIn, t.out+s.MsgsOut, t.dropped+s.Dropped, t.held+s.Held
		}
		sum := sumUp(st)
		l.Info("summary", "instances", len(st), "finished", sum.done, "restarts", sum.restarts,
			"msgs_in", t.in, "msgs_out", t.out, "dropped", t.dropped, "blocked_seconds", round3(sum.blocked.Seconds()), "held", t.held, "nodes", nodes)
		return
	}
	writeSummaryText(w, st, color)
}

// writeSummaryText prints one line per instance: state, restarts,
// messages (DROPPED, BLOCKED (time Send waited at the high-water mark)
// and HELD when any instance has some), then a note per
// restarted instance. A count after "≥" is a lower bound: the instance ran
// in a process that was killed.
func writeSummaryText(w io.Writer, st []runtime.NodeStatus, color bool) {
	width := len("NODE")
	var drops, blocked, held, approx bool
	for _, s := range st {
		width = max(width, len(s.Name))
		drops = drops || s.Dropped > 0
		blocked = blocked || s.Blocked > 0
		held = held || s.Held > 0
		approx = approx || s.Approx
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-*s  %-10s  %8s  %10s  %10s", width, "NODE", "STATE", "RESTARTS", "MSGS IN", "MSGS OUT")
	if drops {
		fmt.Fprintf(&b, "  %10s", "DROPPED")
	}
	if blocked {
		fmt.Fprintf(&b, "  %10s", "BLOCKED")
	}
	if held {
		fmt.Fprintf(&b, "  %10s", "HELD")
	}
	b.WriteString("\n")
	for _, s := range st {
		state := fmt.Sprintf("%-10s", s.State)
		switch s.State {
		case runtime.StateFailed:
			state = paint(color, red, state)
		case runtime.StateFinished:
			state = paint(color, green, state)
		}
		count := func(n uint64) string {
			if s.Approx {
				return fmt.Sprintf("≥%d", n)
			}
			return fmt.Sprint(n)
		}
		fmt.Fprintf(&b, "%-*s  %s  %8d  %10s  %10s", width, s.Name, state, s.Restarts, count(s.MsgsIn), count(s.MsgsOut))
		if drops {
			fmt.Fprintf(&b, "  %10d", s.Dropped)
		}
		if blocked {
			fmt.Fprintf(&b, "  %10s", humanDuration(s.Blocked))
		}
		if held {
			fmt.Fprintf(&b, "  %10s", count(s.Held))
		}
		b.WriteString("\n")
	}
	notes := false
	for _, s := range st {
		if s.Restarts == 0 && s.Held == 0 {
			continue
		}
		if !notes {
			b.WriteString("\n")
			notes = true
		}
		b.WriteString(s.Name)
		if s.Restarts > 0 {
			fmt.Fprintf(&b, " restarted %d time%s", s.Restarts, plural(s.Restarts))
		} else {
			b.WriteString(" went down")
		}
		if s.Held > 0 {
			at := ""
			if s.Approx {
				at = "at least "
			}
			fmt.Fprintf(&b, "; it held %s%d message%s when it went down (lost unless a peer sends them again)", at, s.Held, plural(int(min(s.Held, 2))))
		}
		b.WriteString(".\n")
	}
	if approx {
		b.WriteString("\n≥: a lower bound; the node ran in a process that was killed, so its last counts were not read.\n")
	}
	_, _ = io.WriteString(w, b.String())
}

const (
	red   = "31"
	green = "32"
)

func paint(on bool, code, s string) string {
	if !on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func termWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 20 {
			return cols
		}
	}
	return 100
}

// liveView owns a terminal's last line: the status line that update
// redraws. Whole lines written through lines(dest) appear above it, on
// dest (the same terminal, or the other stream on the same screen). Safe
// for concurrent use; a nil *liveView ignores clear.
type liveView struct {
	mu     sync.Mutex
	term   io.Writer
	width  int
	status string
}

func newLiveView(term io.Writer) *liveView {
	return &liveView{term: term, width: termWidth(term)}
}

// lines returns a writer that prints whole lines on dest, above the
// status line.
func (v *liveView) lines(dest io.Writer) io.Writer { return &viewLines{v: v, dest: dest} }

type viewLines struct {
	v    *liveView
	dest io.Writer
	buf  []byte // a partial line; guarded by v.mu
}

func (l *viewLines) Write(b []byte) (int, error) {
	v := l.v
	v.mu.Lock()
	defer v.mu.Unlock()
	l.buf = append(l.buf, b...)
	i := bytes.LastIndexByte(l.buf, '\n')
	if i < 0 {
		return len(b), nil
	}
	var err error
	if l.dest == v.term {
		_, err = io.WriteString(v.term, "\r\x1b[K"+string(l.buf[:i+1])+v.status)
	} else {
		if v.status != "" {
			_, _ = io.WriteString(v.term, "\r\x1b[K")
		}
		_, err = l.dest.Write(l.buf[:i+1])
		if v.status != "" {
			_, _ = io.WriteString(v.term, v.status)
		}
	}
	l.buf = append(l.buf[:0], l.buf[i+1:]...)
	return len(b), err
}

// statusLine sums a snapshot up in at most width-1 columns: the totals
// first (instances up, finished ("done"), neither running nor finished
// ("down"), restarts, messages per second received and sent, messages
// dropped, and the time Send waited at a high-water mark when there was
// some), then the nodes down with their state, then the busiest nodes'
// rates, each with its drops and blocked time when it has some, as far
// as they fit, and how many more there are:
//
//	10/12 up, 1 done, 1 down, 1 restart, in 82k/s, out 173k/s, 9 dropped, blocked 1.2s | worker[3] restarting, source 91k/s (7 dropped, blocked 1.2s) …+9
func statusLine(st []runtime.NodeStatus, width int) string {
	t := sumUp(st)
	head := fmt.Sprintf("%d/%d up", t.up, t.instances)
	if t.done > 0 {
		head += fmt.Sprintf(", %d done", t.done)
	}
	if n := len(t.notRunning); n > 0 {
		head += fmt.Sprintf(", %d down", n)
	}
	head += fmt.Sprintf(", %d restart%s, in %s/s, out %s/s, %d dropped", t.restarts, plural(t.restarts), humanRate(t.rateIn), humanRate(t.rateOut), t.dropped)
	if t.blocked > 0 {
		head += ", blocked " + humanDuration(t.blocked)
	}
	var parts []string
	parts = append(parts, t.notRunning...)
	busy := make([]runtime.NodeStatus, 0, len(st))
	for _, s := range st {
		if s.State == runtime.StateRunning && s.RateIn+s.RateOut > 0 {
			busy = append(busy, s)
		}
	}
	sort.SliceStable(busy, func(i, j int) bool { return busy[i].RateIn+busy[i].RateOut > busy[j].RateIn+busy[j].RateOut })
	for _, s := range busy {
		p := fmt.Sprintf("%s %s/s", s.Name, humanRate(s.RateIn+s.RateOut))
		var extra []string
		if s.Dropped > 0 {
			extra = append(extra, fmt.Sprintf("%d dropped", s.Dropped))
		}
		if s.Blocked > 0 {
			extra = append(extra, "blocked "+humanDuration(s.Blocked))
		}
		if len(extra) > 0 {
			p += " (" + strings.Join(extra, ", ") + ")"
		}
		parts = append(parts, p)
	}
	limit := width - 1
	line := head
	if runeLen(line) > limit {
		return string([]rune(line)[:limit-1]) + "…"
	}
	for i, p := range parts {
		sep := ", "
		if i == 0 {
			sep = " | "
		}
		tail := ""
		if rest := len(parts) - i - 1; rest > 0 {
			tail = fmt.Sprintf(" …+%d", rest) // room for it is kept
		}
		if runeLen(line+sep+p+tail) > limit {
			if more := fmt.Sprintf(" …+%d", len(parts)-i); runeLen(line+more) <= limit {
				line += more
			}
			break
		}
		line += sep + p
	}
	return line
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// update redraws the status line from a snapshot.
func (v *liveView) update(st []runtime.NodeStatus) {
	line := statusLine(st, v.width)
	v.mu.Lock()
	defer v.mu.Unlock()
	v.status = line
	_, _ = io.WriteString(v.term, "\r\x1b[K"+line)
}

// clear removes the status line.
func (v *liveView) clear() {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.status != "" {
		_, _ = io.WriteString(v.term, "\r\x1b[K")
		v.status = ""
	}
}
