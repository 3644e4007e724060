package socket

// DirectIO returns how many messages s received by reading a connection
// directly in Recv, and sent by writing one directly in Send (direct.go).
func DirectIO(s *Socket) (reads, writes uint64) {
	return s.st.directReads.Load(), s.st.directWrites.Load()
}

// ReadingDirect reports whether a Recv on s is reading a connection
// directly right now.
func ReadingDirect(s *Socket) bool { return s.direct.Load() != nil }
