package socket

// DirectIO returns how many messages s received by reading a connection
// directly in Recv, and sent by writing one directly in Send (direct.go).
func DirectIO(s *Socket) (reads, writes uint64) {
	return s.st.directReads.Load(), s.st.directWrites.Load()
}
