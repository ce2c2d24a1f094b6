package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/userd/userd/service"
)

// progress draws an import's progress line on a terminal: lines read,
// rate, and with a known input size the share done and the time left.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	size  int64 // bytes of input; 0: unknown
	start time.Time
	last  service.ImportProgress
}

func newProgress(w io.Writer, size int64) *progress {
	return &progress{w: w, size: size, start: time.Now()}
}

// report records the latest progress (the importer calls it per batch).
func (p *progress) report(ip service.ImportProgress) {
	p.mu.Lock()
	p.last = ip
	p.mu.Unlock()
	p.draw()
}

// tick redraws the line every interval until the returned stop is called.
func (p *progress) tick(interval time.Duration) (stop func()) {
	done := make(chan struct{})
	var once sync.Once
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.draw()
			case <-done:
				return
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}

// done ends the progress line.
func (p *progress) done() {
	p.draw()
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintln(p.w)
}

func (p *progress) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r\033[K%s", progressLine(p.last, p.size, time.Since(p.start)))
}

// progressLine is one progress line: lines read, the rate, and with a
// known size the share of bytes read and the time left at that rate.
func progressLine(ip service.ImportProgress, size int64, elapsed time.Duration) string {
	secs := max(elapsed.Seconds(), 0.001)
	s := fmt.Sprintf("%d lines (%d imported, %d updated, %d skipped, %d rejected), %.0f lines/s",
		ip.Lines, ip.Imported, ip.Updated, ip.Skipped, ip.Rejected, float64(ip.Lines)/secs)
	if size > 0 && ip.BytesRead > 0 {
		share := float64(ip.BytesRead) / float64(size)
		left := time.Duration(float64(elapsed) * (1 - share) / share)
		s += fmt.Sprintf(", %.0f%%, ETA %s", 100*share, left.Round(time.Second))
	}
	return s
}
