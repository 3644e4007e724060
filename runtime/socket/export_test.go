package socket

// DirectIO reports whether a Recv on s has read a connection directly, and
// whether a Send on s has written one directly (direct.go), from the
// per-peer counters the edge statistics keep (pipe.directIn, directOut):
// the production types carry no counter for tests. Live connections only.
func DirectIO(s *Socket) (read, wrote bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.live {
		read = read || c.p.directIn.Load() > 0
		wrote = wrote || c.p.directOut.Load() > 0
	}
	return read, wrote
}

// ReadingDirect reports whether a Recv on s is reading a connection
// directly right now.
func ReadingDirect(s *Socket) bool { return s.direct.Load() != nil }

// TakePooled takes a buffer for n bytes from c's frame pool, or nil when
// the pool holds none of n's class.
func TakePooled(c *Context, n int) []byte {
	idx, size, ok := ceilClass(n)
	if !ok {
		return nil
	}
	return c.frames.take(idx, size)
}

// FramePoolOn reports whether c's frame pool is on (framepool.go).
func FramePoolOn(c *Context) bool { return c.frames.on.Load() }

// OutByteBound is how many bytes of large messages a PUSH, DEALER, PAIR
// or REQ queues per peer unwritten before Send blocks (queue.go).
const OutByteBound = outByteBound
