package main

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// seedPortRE is a seed port (the zguide's 5555-5560, which the examples
// bind for users) after the colon of an endpoint.
var seedPortRE = regexp.MustCompile(`:(555[5-9]|5560)\b`)

// withoutSeedPorts writes a copy of the topology file src to a fresh
// t.TempDir() with every seed port replaced by port(seed) (the same seed
// port, the same replacement), and copies src's keys directory (what its
// file() calls read) beside it. It returns the copy's path and the
// replacements, by seed port. The tests run the copy, never the example,
// so they do not collide with a user's own run of it.
func withoutSeedPorts(t testing.TB, src string, port func(seed int) int) (string, map[int]int) {
	t.Helper()
	text, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	ports := map[int]int{}
	out := seedPortRE.ReplaceAllFunc(text, func(m []byte) []byte {
		seed, _ := strconv.Atoi(string(m[1:]))
		p, ok := ports[seed]
		if !ok {
			p = port(seed)
			ports[seed] = p
		}
		return []byte(":" + strconv.Itoa(p))
	})
	if len(ports) == 0 {
		t.Fatalf("%s names no seed port (5555-5560) to rewrite: update the test", src)
	}
	dir := t.TempDir()
	if keys := filepath.Join(filepath.Dir(src), "keys"); dirExists(keys) {
		copyDir(t, keys, filepath.Join(dir, "keys"))
	}
	path := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, ports
}

// nonSeedPort is the port a test in network namespaces of its own binds
// for a seed port: seed + 10000 (15555-15560), never a seed port.
func nonSeedPort(seed int) int { return seed + 10000 }

// freePorts returns a port func for withoutSeedPorts that gives each seed
// port a distinct port free on every IPv4 address at the time (found by
// listening on 0.0.0.0:0, which conflicts with a listener on any address,
// so the port is free on every loopback address of topo apply -host all).
// The listeners stay open, so no two seed ports get one port, until
// release (or the test's cleanup) closes them: call it once
// withoutSeedPorts has returned, before topo binds the ports.
func freePorts(t testing.TB) (port func(seed int) int, release func()) {
	t.Helper()
	var held []net.Listener
	port = func(int) int {
		l, err := net.Listen("tcp4", "0.0.0.0:0")
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, l)
		return l.Addr().(*net.TCPAddr).Port
	}
	release = func() {
		for _, l := range held {
			l.Close()
		}
		held = nil
	}
	t.Cleanup(release)
	return port, release
}

// holdSeedPorts listens on every seed port of each address for the rest
// of the test, as a user's own run of the examples would: a test that
// still bound one fails. A port something else holds already is skipped
// (it is held either way).
func holdSeedPorts(t testing.TB, addrs ...string) {
	t.Helper()
	for _, a := range addrs {
		for p := 5555; p <= 5560; p++ {
			if l, err := net.Listen("tcp4", net.JoinHostPort(a, strconv.Itoa(p))); err == nil {
				t.Cleanup(func() { l.Close() })
			}
		}
	}
}

func dirExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// copyDir copies the regular files under src to dst, keeping their
// modes (a seed file's permissions are part of what validate checks).
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm())
		case info.Mode().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		default:
			return fmt.Errorf("%s: not a regular file", path)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}
