package jsonxml

import (
	"fmt"
	"io"
	"sync"
)

// out buffers a conversion's output and hands it to the destination in
// pieces of about flushSize bytes, so the output (up to about 15 times the
// input for JSON of many small numbers) is never held whole. A write
// error is kept and ends the writing.
type out struct {
	w   io.Writer
	b   []byte
	buf *[]byte // b's pooled slice header
	err error
}

const (
	flushSize   = 16 << 10
	maxPoolSize = 64 << 10 // larger buffers (a long string) are not kept
)

var outBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2*flushSize); return &b }}

func newOut(w io.Writer) out {
	buf := outBuffers.Get().(*[]byte)
	return out{w: w, b: (*buf)[:0], buf: buf}
}

// flushIfFull writes the buffer out once it holds flushSize bytes.
func (o *out) flushIfFull() {
	if len(o.b) >= flushSize {
		o.flush()
	}
}

func (o *out) flush() {
	if o.err == nil && len(o.b) > 0 {
		if _, err := o.w.Write(o.b); err != nil {
			o.err = fmt.Errorf("jsonxml: writing the converted body: %w", err)
		}
	}
	o.b = o.b[:0]
}

// close writes what is left, returns the buffer to the pool and reports
// the first write error.
func (o *out) close() error {
	o.flush()
	if cap(o.b) <= maxPoolSize {
		*o.buf = o.b[:0]
		outBuffers.Put(o.buf)
	}
	o.b, o.buf = nil, nil
	return o.err
}
