package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/topo-zmq/topo/runtime/socket"
)

const keygenHelp = `Usage: topo keygen NAME
       topo keygen -seed FILE

  Writes a CURVE key pair for a socket: NAME.key, the secret key (mode
  0600), and NAME.pub, the public key, each 40 characters of Z85 and a
  newline, the form libzmq's zmq_curve_keypair makes; prints the public
  key. Use them in a socket's curve block: secret_key = file("NAME.key")
  on the socket itself, server_key = file("NAME.pub") on its clients,
  allow = [file("NAME.pub")] on a server that admits only some clients.

  With -seed FILE it writes a topology seed instead (mode 0600): 32 random
  bytes from the system's secure source, as 40 characters of Z85 and a
  newline. A top-level curve { seed = file("FILE") } derives every
  socket's key pair from it and the socket's name, INSTANCE.SOCKET
  (HKDF-SHA256), so every host holding the seed derives the same keys.

  It never overwrites a file: if one exists, it exits with status 1 and
  writes nothing. Secret files are created private; keep them so.

Options:
`

// runKeygen implements `topo keygen`.
func runKeygen(ctx context.Context, c *cli, args []string) int {
	fs := newFlagSet(c, "keygen", keygenHelp)
	seed := fs.String("seed", "", "write a topology seed to `FILE` instead of a key pair")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if *seed != "" {
		if fs.NArg() != 0 {
			fmt.Fprintln(c.stderr, "topo keygen: -seed FILE takes no other argument")
			return 1
		}
		var raw [32]byte
		if _, err := io.ReadFull(rand.Reader, raw[:]); err != nil {
			fmt.Fprintf(c.stderr, "topo keygen: %v\n", err)
			return 1
		}
		if err := writeNew(*seed, socket.CurveKey(raw).Z85()+"\n", 0o600); err != nil {
			fmt.Fprintf(c.stderr, "topo keygen: %v\n", err)
			return 1
		}
		fmt.Fprintf(c.stdout, "wrote seed %s\n", *seed)
		return 0
	}
	if fs.NArg() != 1 || fs.Arg(0) == "" {
		fmt.Fprintln(c.stderr, "topo keygen: want one NAME (writes NAME.key and NAME.pub), or -seed FILE")
		return 1
	}
	name := fs.Arg(0)
	for _, p := range []string{name + ".key", name + ".pub"} {
		if _, err := os.Lstat(p); err == nil {
			fmt.Fprintf(c.stderr, "topo keygen: %s exists; not overwriting it\n", p)
			return 1
		}
	}
	kp, err := socket.NewCurveKeyPair(nil)
	if err != nil {
		fmt.Fprintf(c.stderr, "topo keygen: %v\n", err)
		return 1
	}
	if err := writeNew(name+".key", kp.Secret.Z85()+"\n", 0o600); err != nil {
		fmt.Fprintf(c.stderr, "topo keygen: %v\n", err)
		return 1
	}
	if err := writeNew(name+".pub", kp.Public.Z85()+"\n", 0o644); err != nil {
		_ = os.Remove(name + ".key")
		fmt.Fprintf(c.stderr, "topo keygen: %v\n", err)
		return 1
	}
	fmt.Fprintln(c.stdout, kp.Public.Z85())
	return 0
}

// writeNew creates path with perm and writes text, failing if path
// exists. The mode is set explicitly: the umask cannot widen a secret's.
func writeNew(path, text string, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists; not overwriting it", path)
	}
	if err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		_ = os.Remove(path)
		return err
	}
	if _, err := io.WriteString(f, text); err != nil {
		f.Close()
		_ = os.Remove(path)
		return err
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return err
	}
	return nil
}
