package socket

import "context"

// SCAFFOLD: placeholder bodies so dependent packages compile while the real
// implementation is written. Replaced wholesale by the implementation.

// Context holds the inproc:// namespace shared by the sockets made from it.
// The zero value is ready to use.
type Context struct{}

// Socket is a ZeroMQ socket. Send and Recv are safe to call from one
// goroutine each; all other methods are safe for concurrent use.
type Socket struct{ typ Type }

func (c *Context) NewSocket(t Type, o Options) (*Socket, error) { return &Socket{typ: t}, nil }
func (c *Context) Close() error                                   { return nil }
func (s *Socket) Type() Type                                      { return s.typ }
func (s *Socket) Bind(endpoint string) error                      { return ErrNotSupported }
func (s *Socket) Connect(endpoint string) error                   { return ErrNotSupported }
func (s *Socket) Unbind(endpoint string) error                    { return ErrNotSupported }
func (s *Socket) Disconnect(endpoint string) error                { return ErrNotSupported }
func (s *Socket) Endpoints() []string                             { return nil }
func (s *Socket) Subscribe(prefix []byte) error                   { return ErrNotSupported }
func (s *Socket) Unsubscribe(prefix []byte) error                 { return ErrNotSupported }
func (s *Socket) Send(ctx context.Context, m Msg) error           { return ErrNotSupported }
func (s *Socket) Recv(ctx context.Context) (Msg, error)           { return nil, ErrNotSupported }
func (s *Socket) Stats() Stats                                    { return Stats{} }
func (s *Socket) WaitPeers(ctx context.Context, n int) error      { return ErrNotSupported }
func (s *Socket) Close() error                                    { return nil }
