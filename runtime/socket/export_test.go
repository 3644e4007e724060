package socket

// DirectIO reports whether a Recv on s has read a connection directly, and
// whether a Send on s has written one directly (direct.go). It reads state
// that direct I/O leaves behind, so the production types carry no counter
// for tests: a direct read registers its ctx to be kicked when the ctx ends
// (s.ctxw, kept until another ctx comes or s closes), and a direct write
// encodes into its connection's c.wbuf, which nothing else uses. Writes are
// seen on live connections only, and DirectIO waits for a connection's
// writer goroutine to finish writing what it has taken (c.wmu): call it when
// no peer is refusing to read.
func DirectIO(s *Socket) (read, wrote bool) {
	read = s.ctxw.Load() != nil
	s.mu.Lock()
	conns := make([]*conn, 0, len(s.live))
	for c := range s.live {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.wmu.Lock()
		wrote = wrote || c.wbuf != nil
		c.wmu.Unlock()
	}
	return read, wrote
}

// ReadingDirect reports whether a Recv on s is reading a connection
// directly right now.
func ReadingDirect(s *Socket) bool { return s.direct.Load() != nil }
