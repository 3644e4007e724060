package socket

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestPeerSubsMatchesNaiveModel checks subSet against a plain map for
// random subscribe/cancel sequences, across the small and large regimes.
func TestPeerSubsMatchesNaiveModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	word := func() []byte {
		b := make([]byte, r.IntN(6))
		for i := range b {
			b[i] = "ab"[r.IntN(2)]
		}
		return b
	}
	ps := newSubSet()
	model := map[string]int{}
	crossed := false
	for step := 0; step < 40000; step++ {
		w := word()
		// Phases that mostly add and mostly cancel move the set across
		// smallSubs (up to 63 distinct words) and back.
		if cancel := 1 + (step/2000)%2; r.IntN(3) < cancel {
			before, _ := ps.add(w, -1)
			known := before > 0
			if known != (model[string(w)] > 0) {
				t.Fatalf("cancel %q: known=%v model=%d", w, known, model[string(w)])
			}
			if model[string(w)] > 0 {
				model[string(w)]--
				if model[string(w)] == 0 {
					delete(model, string(w))
				}
			}
		} else {
			ps.add(w, 1)
			model[string(w)]++
		}
		topic := append(word(), word()...)
		want := false
		for k := range model {
			want = want || bytes.HasPrefix(topic, []byte(k))
		}
		if got := ps.match(topic); got != want {
			t.Fatalf("step %d: match(%q) = %v, want %v (subs %v)", step, topic, got, want, model)
		}
		if ps.len() != len(model) || (ps.dir != nil) != (len(model) > smallSubs) {
			t.Fatalf("step %d: %d prefixes (tables %d, lens %v), model %d", step, ps.len(), len(ps.dir), ps.lens, len(model))
		}
		for k, c := range model {
			if got := ps.get([]byte(k)); got != c {
				t.Fatalf("step %d: count of %q %d, model %d", step, k, got, c)
			}
		}
		if step%2000 == 1999 {
			crossed = crossed || len(model) > smallSubs
		}
	}
	if !crossed {
		t.Fatal("the random sequence never left the small regime")
	}
	// Many distinct subscriptions stay cheap to add and to match.
	big := newSubSet()
	for i := 0; i < 100000; i++ {
		big.add([]byte{byte(i >> 16), byte(i >> 8), byte(i), 'x'}, 1)
	}
	if !big.match([]byte{0, 1, 2, 'x', 'y'}) || big.match([]byte("zzzz")) {
		t.Fatal("large set matches wrongly")
	}
}

// TestPrefixTrieMatchesNaiveModel checks the counted trie against a plain
// map for random add/remove sequences, short prefixes and prefixes past
// maxTrieDepth, through compactions, while a reader matches concurrently
// (go test -race).
func TestPrefixTrieMatchesNaiveModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	// Short words, and words around maxTrieDepth long (a shared run of
	// a's), whose tails the trie keeps whole.
	word := func(r *rand.Rand) []byte {
		var b []byte
		if r.IntN(4) == 0 {
			b = bytes.Repeat([]byte("a"), maxTrieDepth-2+r.IntN(4))
		}
		for range r.IntN(5) {
			b = append(b, "abc"[r.IntN(3)])
		}
		return b
	}
	var cur atomic.Pointer[prefixTrie]
	cur.Store(&prefixTrie{})
	model := map[string]int{}
	naive := func(m map[string]int, topic []byte) bool {
		for k := range m {
			if bytes.HasPrefix(topic, []byte(k)) {
				return true
			}
		}
		return false
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // a reader, as a connection's: its answers are not checked
		defer close(done)
		r := rand.New(rand.NewPCG(5, 6))
		for {
			select {
			case <-stop:
				return
			default:
				_ = cur.Load().match(append(word(r), word(r)...))
			}
		}
	}()
	defer func() { close(stop); <-done }()
	compactions := 0
	for step := 0; step < 30000; step++ {
		w := word(r)
		tr := cur.Load()
		if r.IntN(2) == 0 {
			before, after := tr.add(w, -1)
			if want := model[string(w)]; before != want || after != max(want-1, 0) {
				t.Fatalf("step %d: remove %q: %d -> %d, model %d", step, w, before, after, want)
			}
			if model[string(w)]--; model[string(w)] <= 0 {
				delete(model, string(w))
			}
			if nt := tr.compacted(); nt != tr {
				compactions++
				cur.Store(nt)
				tr = nt
			}
		} else {
			before, after := tr.add(w, 1)
			if want := model[string(w)]; before != want || after != want+1 {
				t.Fatalf("step %d: add %q: %d -> %d, model %d", step, w, before, after, want)
			}
			model[string(w)]++
		}
		if tr.distinct != len(model) {
			t.Fatalf("step %d: %d distinct, model %d", step, tr.distinct, len(model))
		}
		if len(model) == 0 && tr.nodes-tr.dead != 1 {
			t.Fatalf("step %d: empty set left %d nodes", step, tr.nodes-tr.dead-1)
		}
		topic := append(word(r), word(r)...)
		if got, want := tr.match(topic), naive(model, topic); got != want {
			t.Fatalf("step %d: match(%q) = %v, want %v (subs %v)", step, topic, got, want, model)
		}
		if step%1000 == 0 {
			seen := map[string]int{}
			tr.each(func(p []byte, c int) { seen[string(p)] = c })
			if !maps.Equal(seen, model) {
				t.Fatalf("step %d: each gives %v, model %v", step, seen, model)
			}
		}
	}
	// Many distinct prefixes added and cancelled: the unlinked nodes are
	// dropped with a compaction, and the trie keeps what stayed.
	tr := &prefixTrie{}
	cur.Store(tr)
	keep := []byte("keep")
	tr.add(keep, 1)
	for i := 0; i < 5000; i++ {
		tr.add(fmt.Appendf(nil, "k%d", i), 1)
	}
	for i := 0; i < 5000; i++ {
		tr.add(fmt.Appendf(nil, "k%d", i), -1)
		if nt := tr.compacted(); nt != tr {
			compactions++
			cur.Store(nt)
			tr = nt
		}
	}
	if compactions == 0 || tr.dead > tr.nodes/2+2048 || !tr.match([]byte("keeper")) || tr.match([]byte("k1")) {
		t.Fatalf("after cancelling 5,000 prefixes: %d compactions, %d of %d nodes dead", compactions, tr.dead, tr.nodes)
	}
}

// TestPrefixTrieNodesHoldNoPointers: the collector need not scan a trie's
// nodes (issue 16).
func TestPrefixTrieNodesHoldNoPointers(t *testing.T) {
	for _, f := range reflect.VisibleFields(reflect.TypeFor[trieNode]()) {
		if k := f.Type.Kind(); k != reflect.Struct && k != reflect.Uint8 && k != reflect.Uint16 {
			t.Fatalf("trieNode.%s is a %v", f.Name, k)
		}
	}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[subSlot]()) {
		if k := f.Type.Kind(); k != reflect.Uint32 && k != reflect.Uint16 {
			t.Fatalf("subSlot.%s is a %v", f.Name, k)
		}
	}
}

// TestSubscribeDoesNotRebuildFilter: with thousands of prefixes held, one
// more Subscribe/Unsubscribe allocates in proportion to the prefix, not
// to the set (it used to copy the whole set into a new filter), and the
// filter matches through the large regime and back to the small one.
func TestSubscribeDoesNotRebuildFilter(t *testing.T) {
	zc := &Context{}
	s, err := zc.NewSocket(SUB, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 5000
	key := func(i int) []byte { return fmt.Appendf(nil, "topic-%05d", i) }
	for i := 0; i < n; i++ {
		if err := s.Subscribe(key(i)); err != nil {
			t.Fatal(err)
		}
	}
	f := s.pat.(*sub).filter.Load()
	if !f.match([]byte("topic-04999-x")) || !f.match(key(0)) || f.match([]byte("topic-5")) || f.match([]byte("topic-0000")) {
		t.Fatal("large filter matches wrongly")
	}
	p := []byte("other-prefix")
	allocs := testing.AllocsPerRun(50, func() {
		_ = s.Subscribe(p)
		_ = s.Unsubscribe(p)
	})
	if allocs > 200 {
		t.Errorf("Subscribe+Unsubscribe with %d prefixes held: %.0f allocations, want O(len(prefix))", n, allocs)
	}
	for i := 1; i < n; i++ {
		if err := s.Unsubscribe(key(i)); err != nil {
			t.Fatal(err)
		}
	}
	f = s.pat.(*sub).filter.Load()
	if f.trie != nil || !f.match(key(0)) || f.match(key(1)) {
		t.Fatalf("filter back to one prefix: trie=%v match(key0)=%v match(key1)=%v", f.trie != nil, f.match(key(0)), f.match(key(1)))
	}
	if err := s.Unsubscribe(key(0)); err != nil {
		t.Fatal(err)
	}
	if f = s.pat.(*sub).filter.Load(); f.match(key(0)) || f.match(nil) {
		t.Fatal("empty filter matches")
	}
}

// TestPrefixTrieLongPrefixIsBounded: a prefix of 1 MiB makes at most
// maxTrieDepth nodes, not one per byte.
func TestPrefixTrieLongPrefixIsBounded(t *testing.T) {
	p := bytes.Repeat([]byte("x"), 1<<20)
	var tr prefixTrie
	tr.add(p, 1)
	if tr.nodes > maxTrieDepth+1 {
		t.Fatalf("%d nodes for one long prefix, want at most %d", tr.nodes, maxTrieDepth+1)
	}
	if !tr.match(append(bytes.Clone(p), 'y')) || tr.match(p[:len(p)-1]) {
		t.Fatal("long prefix matches wrongly")
	}
	if b, a := tr.add(p, 1); b != 1 || a != 2 {
		t.Fatalf("second add of the long prefix: %d -> %d", b, a)
	}
	tr.add(p, -1)
	tr.add(p, -1)
	if tr.nodes-tr.dead != 1 || !tr.empty() || tr.long.Load() != nil {
		t.Fatalf("removing the only prefix left %d nodes", tr.nodes-tr.dead-1)
	}
}

// TestSubDeliversMatchBeforeFilteredTail: a message the SUB keeps, followed
// in the same read by one its filter drops, is delivered at once; the
// reader used to go back to the network holding the kept one until more
// bytes came.
func TestSubDeliversMatchBeforeFilteredTail(t *testing.T) {
	zc := &Context{}
	defer zc.Close()
	s, err := zc.NewSocket(SUB, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Subscribe([]byte("wx")); err != nil {
		t.Fatal(err)
	}
	if err := s.Bind("tcp://127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	p := dialRaw(t, s.Endpoints()[0], "PUB")
	if m, cmd := p.next(); cmd || len(m) != 1 || string(m[0]) != "\x01wx" {
		t.Fatalf("want the SUB's subscription first, got %q (command %v)", m, cmd)
	}
	_ = writeMsg(p.w, zmtpCodec{}, Msg{[]byte("wx 1")})
	_ = writeMsg(p.w, zmtpCodec{}, Msg{[]byte("zz 2")})
	p.flush() // one write: the SUB reads both at once
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	m, err := s.Recv(ctx)
	if err != nil || string(m[0]) != "wx 1" {
		t.Fatalf("Recv: %q, %v; want \"wx 1\" at once", m, err)
	}
}

// subSetHeap returns the Go heap a subSet of n distinct prefixes like the
// cost curves' ("q%07d") holds per prefix, after a GC.
func subSetHeap(n int) float64 {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	ps := newSubSet()
	k := make([]byte, 0, 16)
	for i := 0; i < n; i++ {
		k = fmt.Appendf(k[:0], "q%07d", i)
		ps.add(k, 1)
	}
	runtime.GC()
	runtime.ReadMemStats(&m1)
	runtime.KeepAlive(ps)
	return float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / float64(n)
}

// BenchmarkPeerSubsMemory: what a publisher holds per distinct prefix of
// one peer (b.N prefixes); B/prefix is Go heap after a GC.
func BenchmarkPeerSubsMemory(b *testing.B) {
	b.ReportMetric(subSetHeap(b.N), "B/prefix")
}

// TestPeerSubsMemoryPerPrefix: a large set holds one map entry per prefix
// (it held three maps' and a list's entries, 121 B per 8-byte prefix).
func TestPeerSubsMemoryPerPrefix(t *testing.T) {
	if got := subSetHeap(100000); got > 80 {
		t.Fatalf("a set of 100,000 8-byte prefixes holds %.0f B per prefix, want at most 80", got)
	} else {
		t.Logf("%.0f B per prefix", got)
	}
}

// TestSubSetLargeMatchesModel drives a subSet through thousands of distinct
// prefixes, table splits, cancels and rebuilds back to the small list,
// checking counts, enumeration and matching against a plain map.
func TestSubSetLargeMatchesModel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	ps := newSubSet()
	model := map[string]int{}
	key := func() []byte {
		switch r.IntN(200) {
		case 0, 1, 2, 3: // now and then a prefix with a page of its own
			return append(bytes.Repeat([]byte{'L'}, ownPage+r.IntN(3)), byte(r.IntN(4)))
		case 4: // and the empty prefix, which matches every topic
			return []byte{}
		}
		return fmt.Appendf(nil, "k%d", r.IntN(6000))
	}
	check := func(step int) {
		t.Helper()
		if ps.len() != len(model) {
			t.Fatalf("step %d: %d prefixes, model %d", step, ps.len(), len(model))
		}
		seen := map[string]int{}
		ps.each(func(p []byte, c int) { seen[string(p)] += c })
		if !maps.Equal(seen, model) {
			t.Fatalf("step %d: each gives %d prefixes, model %d", step, len(seen), len(model))
		}
	}
	splits := false
	for step := 0; step < 24000; step++ {
		// Phases of mostly adding and mostly cancelling.
		k := key()
		if cancel := (step / 6000) % 2; r.IntN(4) < 1+2*cancel {
			before, after := ps.add(k, -1)
			if want := model[string(k)]; before != want || after != max(want-1, 0) {
				t.Fatalf("step %d: cancel %q: %d -> %d, model %d", step, k, before, after, want)
			}
			if model[string(k)]--; model[string(k)] <= 0 {
				delete(model, string(k))
			}
		} else {
			before, after := ps.add(k, 1)
			if want := model[string(k)]; before != want || after != want+1 {
				t.Fatalf("step %d: add %q: %d -> %d, model %d", step, k, before, after, want)
			}
			model[string(k)]++
		}
		splits = splits || ps.depth > 2
		topic := append(key(), "-x"...)
		if r.IntN(3) == 0 { // a first byte no prefix starts with
			topic = []byte("zq")
		}
		want := false
		for p := range model {
			if want = bytes.HasPrefix(topic, []byte(p)); want {
				break
			}
		}
		if got := ps.match(topic); got != want {
			t.Fatalf("step %d: match(%.20q) = %v, want %v", step, topic, got, want)
		}
		if step%5000 == 0 {
			check(step)
		}
	}
	check(-1)
	if !splits {
		t.Fatal("the tables never split")
	}
	for p, c := range model {
		ps.add([]byte(p), -c)
	}
	if ps.len() != 0 || ps.dir != nil || len(ps.pages) > 1 || ps.match([]byte("k1")) {
		t.Fatalf("emptied set: %d prefixes, %d tables, %d pages", ps.len(), len(ps.dir), len(ps.pages))
	}
}

// TestPubPipeSubViewFollowsChanges: a publisher's fan-out matches a peer's
// few subscriptions through the pipe's lock-free view (pipe.subView), which
// every subscribe and cancel republishes; it must agree with the locked set
// through random changes across smallSubs and back, and after a reset. A
// matcher races the changes (go test -race).
func TestPubPipeSubViewFollowsChanges(t *testing.T) {
	zc := &Context{}
	s, err := zc.NewSocket(PUB, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := newPipe(s, "test")
	r := rand.New(rand.NewPCG(3, 4))
	word := func() []byte {
		b := make([]byte, r.IntN(6))
		for i := range b {
			b[i] = "ab"[r.IntN(2)]
		}
		return b
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // a concurrent matcher, as dist is
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				p.subMatch([]byte("abab"))
			}
		}
	}()
	model := map[string]int{}
	crossed, viewed := false, 0
	for step := 0; step < 20000; step++ {
		w := word()
		on := r.IntN(3) >= 1+(step/2000)%2
		if _, over := s.applyPeerSub(p, on, w, nil); over {
			t.Fatalf("step %d: over the budget", step)
		}
		if on {
			model[string(w)]++
		} else if model[string(w)] > 0 {
			if model[string(w)]--; model[string(w)] == 0 {
				delete(model, string(w))
			}
		}
		crossed = crossed || len(model) > smallSubs
		if p.subView.Load() != nil {
			viewed++
		}
		topic := append(word(), word()...)
		want := false
		for k := range model {
			want = want || bytes.HasPrefix(topic, []byte(k))
		}
		if got := p.subMatch(topic); got != want {
			t.Fatalf("step %d: subMatch(%q) = %v, want %v (subs %v)", step, topic, got, want, model)
		}
		if (p.subView.Load() != nil) != (len(model) <= smallSubs) {
			t.Fatalf("step %d: view set %v with %d prefixes", step, p.subView.Load() != nil, len(model))
		}
	}
	close(stop)
	<-done
	if !crossed || viewed == 0 {
		t.Fatalf("the sequence did not cross smallSubs both ways (crossed %v, viewed %d)", crossed, viewed)
	}
	p.resetSubs()
	if p.subMatch([]byte("abab")) || p.subMatch(nil) {
		t.Fatal("a reset pipe still matches")
	}
	// hasPrefix agrees with bytes.HasPrefix on both sides of its 16 bytes.
	for i := 0; i < 2000; i++ {
		a, b := make([]byte, r.IntN(24)), make([]byte, r.IntN(24))
		for j := range a {
			a[j] = "ab"[r.IntN(2)]
		}
		for j := range b {
			b[j] = "ab"[r.IntN(2)]
		}
		if i%3 == 0 && len(b) <= len(a) {
			copy(a, b)
		}
		if hasPrefix(a, b) != bytes.HasPrefix(a, b) {
			t.Fatalf("hasPrefix(%q, %q) = %v", a, b, hasPrefix(a, b))
		}
	}
}

// TestSubUnsubscribeDropsQueued: messages a SUB queued under a prefix it
// then cancels are not returned by Recv (Recv matches again once any
// prefix was removed; before, only the readers' match is needed).
func TestSubUnsubscribeDropsQueued(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	zc := &Context{}
	pub, err := zc.NewSocket(PUB, Options{SendHWM: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	sub, err := zc.NewSocket(SUB, Options{RecvHWM: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ep := "inproc://unsub-drops-queued"
	if err := pub.Bind(ep); err != nil {
		t.Fatal(err)
	}
	if err := sub.Connect(ep); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"a", "z"} {
		if err := sub.Subscribe([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	// Until the PUB has the subscriptions, probes are dropped: send one
	// until one arrives.
	for got := false; !got; {
		if err := pub.Send(ctx, Msg{[]byte("z-probe")}); err != nil {
			t.Fatal(err)
		}
		rctx, rc := context.WithTimeout(ctx, 50*time.Millisecond)
		_, err := sub.Recv(rctx)
		rc()
		got = err == nil
		if ctx.Err() != nil {
			t.Fatal("no probe arrived")
		}
	}
	for i := 0; i < 100; i++ { // an inproc Send queues at the SUB before it returns
		if err := pub.Send(ctx, Msg{[]byte("a-queued")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Send(ctx, Msg{[]byte("z-end")}); err != nil {
		t.Fatal(err)
	}
	if err := sub.Unsubscribe([]byte("a")); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := sub.Recv(ctx)
		if err != nil {
			t.Fatal(err)
		}
		switch string(m[0]) {
		case "z-probe": // a late probe
		case "z-end":
			return
		default:
			t.Fatalf("Recv returned %q after its prefix was cancelled", m[0])
		}
	}
}
