// Package lines splits a byte stream into lines for the writers that
// prefix or log a process's output line by line.
package lines

import "bytes"

// Split calls emit with each complete line at the start of buf, its
// newline included, and returns what follows the last one (a partial
// line, or empty). emit must not keep the slice.
func Split(buf []byte, emit func(line []byte)) (rest []byte) {
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			return buf
		}
		emit(buf[:i+1])
		buf = buf[i+1:]
	}
}
