package topology

import (
	"container/heap"
	"fmt"
)

// startOrder lists instances with every depends_on target first and,
// where no cycle prevents it, binders before their connectors; ties go in
// file order.
func (e *evaluator) startOrder(t *Topology) []string {
	n := len(t.Instances)
	idx := make(map[string]int, n)
	for i, inst := range t.Instances {
		idx[inst.Name] = i
	}
	hardIn := make([]int, n)
	softIn := make([]int, n)
	hardOut := make([][]int, n)
	softOut := make([][]int, n)
	byNode := map[*Node][]int{}
	for i, inst := range t.Instances {
		byNode[inst.Node] = append(byNode[inst.Node], i)
	}
	for _, nd := range e.nodes {
		for _, dep := range nd.dependsOn {
			for _, from := range byNode[dep.n] {
				for _, to := range byNode[nd.n] {
					hardOut[from] = append(hardOut[from], to)
					hardIn[to]++
				}
			}
		}
	}
	seen := map[[2]int]bool{}
	for _, ed := range t.Edges {
		from, ok1 := idx[ed.Bind.Instance]
		to, ok2 := idx[ed.Connect.Instance]
		if !ok1 || !ok2 || from == to || seen[[2]int{from, to}] {
			continue
		}
		seen[[2]int{from, to}] = true
		softOut[from] = append(softOut[from], to)
		softIn[to]++
	}
	// ready: free of every constraint; free: free of depends_on only (the
	// fallback when bind/connect edges form a loop). Both are min-heaps of
	// file indexes with lazy deletion.
	var ready, free intHeap
	for i := 0; i < n; i++ {
		if hardIn[i] == 0 {
			heap.Push(&free, i)
			if softIn[i] == 0 {
				heap.Push(&ready, i)
			}
		}
	}
	done := make([]bool, n)
	order := make([]string, 0, n)
	for len(order) < n {
		pick := -1
		for ready.Len() > 0 && pick < 0 {
			if i := heap.Pop(&ready).(int); !done[i] {
				pick = i
			}
		}
		for free.Len() > 0 && pick < 0 {
			if i := heap.Pop(&free).(int); !done[i] {
				pick = i
			}
		}
		if pick < 0 { // cannot happen: depends_on cycles were broken
			for i := 0; i < n && pick < 0; i++ {
				if !done[i] {
					pick = i
				}
			}
		}
		done[pick] = true
		order = append(order, t.Instances[pick].Name)
		for _, to := range hardOut[pick] {
			if hardIn[to]--; hardIn[to] == 0 {
				heap.Push(&free, to)
				if softIn[to] <= 0 {
					heap.Push(&ready, to)
				}
			}
		}
		for _, to := range softOut[pick] {
			if softIn[to]--; softIn[to] == 0 && hardIn[to] == 0 {
				heap.Push(&ready, to)
			}
		}
	}
	return order
}

func hostName(h string) string {
	if h == "" {
		return "the default host"
	}
	return fmt.Sprintf("host %q", h)
}

// intHeap is a min-heap of ints for container/heap.
type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
