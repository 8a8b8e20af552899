package otlp

import (
	"io"
	"net/http"
	"time"
)

// deadlineReader reads an HTTP request body under a read deadline that
// moves with the bytes read: grace after the first read, plus the time
// the bytes read so far take at minRate. A client that trickles its body
// (or stops sending) hits the deadline and the read fails with
// os.ErrDeadlineExceeded; one that sends at minRate or faster never does.
//
// The deadline is set on the connection (HTTP/1) or the stream (HTTP/2)
// through http.ResponseController; where the server cannot (a wrapped
// ResponseWriter without Unwrap), the body is read without one and the
// server's own timeouts are all that bound it.
type deadlineReader struct {
	rc      *http.ResponseController
	r       io.Reader
	grace   time.Duration
	minRate int64

	start     time.Time
	n, lastN  int64 // bytes read; bytes read when the deadline was last moved
	set, gone bool  // a deadline is set; the server cannot set one
	eof       bool  // the body was read to its end
}

func newDeadlineReader(w http.ResponseWriter, r io.Reader, grace time.Duration, minRate int64) *deadlineReader {
	return &deadlineReader{rc: http.NewResponseController(w), r: r, grace: grace, minRate: minRate}
}

// Read moves the deadline when at least a tenth of a second's worth of
// bytes at minRate arrived since it last did (setting a deadline costs a
// timer update: not on every small read), then reads.
func (d *deadlineReader) Read(p []byte) (int, error) {
	if !d.gone && (!d.set || d.n-d.lastN >= d.minRate/10) {
		if d.start.IsZero() {
			d.start = time.Now()
		}
		at := d.start.Add(d.grace + time.Duration(float64(d.n)/float64(d.minRate)*float64(time.Second)))
		if err := d.rc.SetReadDeadline(at); err != nil {
			d.gone = true
		} else {
			d.set, d.lastN = true, d.n
		}
	}
	n, err := d.r.Read(p)
	d.n += int64(n)
	d.eof = d.eof || err == io.EOF
	return n, err
}

// clear lifts the deadline once the body is read to its end: the server
// keeps reading the connection in the background (to notice a client
// that goes away) and must not take the passed deadline for a broken
// connection. A body not read to its end keeps its deadline: before
// answering, the server reads what is left of a short body to reuse the
// connection, and a trickled body must not hold the answer back.
func (d *deadlineReader) clear() {
	if d.set && d.eof {
		d.rc.SetReadDeadline(time.Time{})
	}
}
