package pluginhost

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procSyscalls returns how many read and write system calls process pid
// has made, from /proc/PID/io (Linux; zeros elsewhere).
func procSyscalls(pid int) (reads, writes uint64) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "io"))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ":")
		n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		switch k {
		case "syscr":
			reads = n
		case "syscw":
			writes = n
		}
	}
	return reads, writes
}

// procCPU returns the CPU time (ns) that process pid's threads have run,
// and how many times they were switched out, from
// /proc/PID/task/*/schedstat and status (Linux; zeros elsewhere).
func procCPU(pid int) (ns, switches uint64) {
	dirs, _ := filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*"))
	for _, d := range dirs {
		if b, err := os.ReadFile(filepath.Join(d, "schedstat")); err == nil {
			if f := strings.Fields(string(b)); len(f) > 0 {
				v, _ := strconv.ParseUint(f[0], 10, 64)
				ns += v
			}
		}
		if b, err := os.ReadFile(filepath.Join(d, "status")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
					n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
					switches += n
				}
			}
		}
	}
	return ns, switches
}
