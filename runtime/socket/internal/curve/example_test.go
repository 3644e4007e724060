package curve_test

import (
	"errors"
	"fmt"

	"github.com/topo-zmq/topo/runtime/socket/internal/curve"
)

// A client and a server run the handshake over command bodies (each would
// travel in a ZMTP command frame), then exchange one MESSAGE.
func Example() {
	serverKey, _ := curve.GenerateKey(nil)
	clientKey, _ := curve.GenerateKey(nil)
	allowed := map[[32]byte]bool{clientKey.Public: true}

	c, _ := curve.NewClient(curve.ClientConfig{Key: clientKey, ServerKey: serverKey.Public,
		Metadata: curve.Metadata{{Name: "Socket-Type", Value: []byte("PUSH")}}})
	s, _ := curve.NewServer(curve.ServerConfig{Key: serverKey,
		Metadata: curve.Metadata{{Name: "Socket-Type", Value: []byte("PULL")}},
		Authorize: func(k [32]byte) error {
			if !allowed[k] {
				return errors.New("unknown client")
			}
			return nil
		}})

	hello, _ := c.Hello()
	welcome, _ := s.OnHello(hello)
	initiate, _ := c.OnWelcome(welcome)
	ready, serverSide, err := s.OnInitiate(initiate) // on a refusal, ready is the ERROR to send
	if err != nil {
		fmt.Println(err)
		return
	}
	clientSide, _ := c.OnReady(ready)

	body, _ := clientSide.Seal(nil, 0, []byte("hello")) // written in a ZMTP frame with no flags
	flags, payload, _ := serverSide.Open(nil, body)
	st, _ := serverSide.PeerMetadata().Get("Socket-Type")
	fmt.Printf("%s from a %s peer, flags %d, %d bytes on the wire\n", payload, st, flags, len(body))
	// Output: hello from a PUSH peer, flags 0, 38 bytes on the wire
}
