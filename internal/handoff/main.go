// Command handoff measures what goroutine hand-offs cost a TCP ping-pong
// across two processes: the diagnosis behind runtime/socket's direct I/O for
// REQ and REP (docs/BENCHMARKS.md, "Direct I/O").
//
// Each side of an 18-byte ping-pong is one of these variants:
//
//	-v 0  raw: the goroutine reads and writes the connection itself
//	-v 1  a reader goroutine hands each message over a channel; direct write
//	-v 2  reader and writer goroutines (the shape of a queued socket)
//	-v 3  as 1, the reader calls runtime.Gosched after each hand-off
//	-v 4  as 1, the receiver polls the channel before blocking
//	-v 5  direct read, a writer goroutine
//
// Usage (the client prints p50 and p99 in µs of -n round trips):
//
//	go build -o /tmp/handoff ./internal/handoff
//	/tmp/handoff -role srv -v 1 -addr 127.0.0.1:7701 & /tmp/handoff -role cli -v 1 -addr 127.0.0.1:7701
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"time"
)

var (
	role    = flag.String("role", "srv", "srv|cli")
	addr    = flag.String("addr", "127.0.0.1:7777", "")
	variant = flag.Int("v", 0, "variant: 0 raw, 1 reader goroutine, 2 reader+writer goroutines, 3 reader+Gosched, 4 polling receiver, 5 writer goroutine only")
	n       = flag.Int("n", 20000, "")
)

const size = 18 // a 16-byte ZMTP message with its 2-byte frame header

// side is one end of the ping-pong, shaped by -v.
type side struct {
	c   net.Conn
	br  *bufio.Reader
	in  chan []byte // from the reader goroutine (variants 1-4)
	out chan []byte // to the writer goroutine (variants 2, 5)
}

func newSide(c net.Conn) *side {
	s := &side{c: c, br: bufio.NewReaderSize(c, 64<<10)}
	if *variant >= 1 && *variant <= 4 {
		s.in = make(chan []byte, 1024)
		go s.reader()
	}
	if *variant == 2 || *variant == 5 {
		s.out = make(chan []byte, 1024)
		go s.writer()
	}
	return s
}

func (s *side) reader() {
	defer close(s.in)
	for {
		b := make([]byte, size)
		if _, err := io.ReadFull(s.br, b); err != nil {
			return
		}
		s.in <- b
		if *variant == 3 {
			runtime.Gosched()
		}
	}
}

func (s *side) writer() {
	bw := bufio.NewWriterSize(s.c, 64<<10)
	for b := range s.out {
		_, _ = bw.Write(b)
		for len(s.out) > 0 {
			_, _ = bw.Write(<-s.out)
		}
		if bw.Flush() != nil {
			return
		}
	}
}

// recv reads one message into b; false at the end of the stream.
func (s *side) recv(b []byte) bool {
	if s.in == nil {
		_, err := io.ReadFull(s.br, b)
		return err == nil
	}
	if *variant == 4 {
		for range 20000 {
			select {
			case m, ok := <-s.in:
				copy(b, m)
				return ok
			default:
			}
		}
	}
	m, ok := <-s.in
	copy(b, m)
	return ok
}

func (s *side) send(b []byte) error {
	if s.out == nil {
		_, err := s.c.Write(b)
		return err
	}
	s.out <- append([]byte(nil), b...)
	return nil
}

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "handoff:", err)
		os.Exit(1)
	}
}

func run() error {
	b := make([]byte, size)
	if *role == "srv" {
		l, err := net.Listen("tcp", *addr)
		if err != nil {
			return err
		}
		defer l.Close()
		c, err := l.Accept()
		if err != nil {
			return err
		}
		defer c.Close()
		s := newSide(c)
		for s.recv(b) {
			if err := s.send(b); err != nil {
				return err
			}
		}
		return nil
	}
	var c net.Conn
	var err error
	for range 100 { // the server may still be starting
		if c, err = net.Dial("tcp", *addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	s := newSide(c)
	const warmup = 1000
	lat := make([]time.Duration, 0, *n)
	for i := range *n + warmup {
		t := time.Now()
		if err := s.send(b); err != nil {
			return err
		}
		if !s.recv(b) {
			return io.ErrUnexpectedEOF
		}
		if i >= warmup {
			lat = append(lat, time.Since(t))
		}
	}
	slices.Sort(lat)
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	fmt.Printf("v%d p50 %.1f p99 %.1f\n", *variant, us(lat[len(lat)/2]), us(lat[len(lat)*99/100]))
	return nil
}
