package main

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/bits"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/userd/userd/pgtest"
)

// bitWriter writes a JPEG entropy-coded segment: bits high first, a 0x00
// stuffed after each 0xFF, the last byte padded with ones.
type bitWriter struct {
	out []byte
	acc byte
	n   int
}

func (b *bitWriter) put(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		b.acc = b.acc<<1 | byte(v>>i&1)
		if b.n++; b.n == 8 {
			b.out = append(b.out, b.acc)
			if b.acc == 0xFF {
				b.out = append(b.out, 0)
			}
			b.acc, b.n = 0, 0
		}
	}
}

func (b *bitWriter) flush() []byte {
	for b.n != 0 {
		b.put(1, 1)
	}
	return b.out
}

// progressiveJPEG is a valid grey w × h progressive JPEG (SOF2) of one DC
// scan and acScans identical AC scans of a few bytes each (end-of-band
// runs over every block): the CPU bomb of issue 22, each scan a pass over
// all w × h / 64 blocks.
func progressiveJPEG(w, h, acScans int) []byte {
	var b bytes.Buffer
	seg := func(marker byte, payload []byte) {
		b.Write([]byte{0xFF, marker})
		b.Write(binary.BigEndian.AppendUint16(nil, uint16(len(payload)+2)))
		b.Write(payload)
	}
	b.Write([]byte{0xFF, 0xD8})
	seg(0xDB, append([]byte{0}, bytes.Repeat([]byte{1}, 64)...))                      // quantization table 0: all ones
	seg(0xC2, []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 1, 1, 0x11, 0}) // one component
	// DC table 0: category 0 as the 1-bit code 0. AC table 0: the
	// end-of-band runs EOB0…EOB14 as the 4-bit codes 0…14.
	dht := []byte{0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00}
	dht = append(dht, 0x10, 0, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	for r := range 15 {
		dht = append(dht, byte(r<<4))
	}
	seg(0xC4, dht)
	blocks := ((w + 7) / 8) * ((h + 7) / 8)
	seg(0xDA, []byte{1, 1, 0x00, 0, 0, 0}) // DC first pass
	var dc bitWriter
	for range blocks {
		dc.put(0, 1)
	}
	b.Write(dc.flush())
	var ac bitWriter
	for left := blocks; left > 0; {
		run := min(left, 1<<15-1)
		r := bits.Len(uint(run)) - 1
		ac.put(uint32(r), 4)
		ac.put(uint32(run-1<<r), r)
		left -= run
	}
	scan := ac.flush()
	for range acScans {
		seg(0xDA, []byte{1, 1, 0x00, 1, 63, 0}) // AC first pass, coefficients 1–63
		b.Write(scan)
	}
	b.Write([]byte{0xFF, 0xD9})
	return b.Bytes()
}

// png16 is a w × h RGBA PNG of 16-bit samples, all zero: a few hundred KB
// that decode to w × h × 8 bytes (the memory bomb of issue 22).
func png16(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(data))))
		b.WriteString(typ)
		b.Write(data)
		b.Write(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(append([]byte(typ), data...))))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	chunk("IHDR", append(ihdr, 16, 6, 0, 0, 0)) // 16-bit, RGBA, no interlace
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	row := make([]byte, 1+8*w) // filter type 0, then the samples
	for range h {
		if _, err := zw.Write(row); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	chunk("IDAT", z.Bytes())
	chunk("IEND", nil)
	return b.Bytes()
}

// cpuTime is the CPU time (user and system) process pid has spent.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("read the process's CPU time (Linux /proc only): %v", err)
	}
	// Fields after the command's closing parenthesis: state is field 3,
	// utime and stime fields 14 and 15, in clock ticks (USER_HZ, 100).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("parse /proc/%d/stat: %v %v", pid, err1, err2)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// peakRSS is the peak resident set size (VmHWM) of process pid, in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("read the process's memory (Linux /proc only): %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc/<pid>/status")
	return 0
}

// putAvatar uploads body as the avatar of token's user.
func putAvatar(client *http.Client, base, token string, body []byte, contentType string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPut, base+"/api/v1/users/me/avatar", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", contentType)
	res, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	var msg bytes.Buffer
	_, _ = msg.ReadFrom(res.Body)
	return res.StatusCode, msg.String(), nil
}

// TestAvatarDecodeBombs uploads the decode bombs of issue 22 to a userd
// process: progressive JPEGs of 2,000 scans are answered 4xx within 5 s
// and leave no work behind (under 0.5 s of CPU in the 2 s after the
// answer), and four 16-bit 4000 × 4000 PNGs at once are answered without
// a 5xx and keep the process's peak RSS under 250 MiB.
func TestAvatarDecodeBombs(t *testing.T) {
	t.Parallel()
	p := startUserd(t, pgtest.NewURL(t), t.TempDir(), "USERD_DB_TIMEOUT=30s")
	pid := p.cmd.Process.Pid
	client := &http.Client{Timeout: 10 * time.Second}
	status, in, err := post(client, p.base+"/api/v1/auth/register", map[string]any{"username": "bomber", "password": "correct horse battery"})
	if err != nil || status != http.StatusCreated {
		t.Fatalf("register: got %d %v, %v", status, in, err)
	}
	token, _ := in["access_token"].(string)

	for _, c := range []struct{ w, h int }{{4000, 4000}, {1500, 1500}} {
		bomb := progressiveJPEG(c.w, c.h, 2000)
		if len(bomb) > 2<<20 {
			t.Fatalf("the %d × %d bomb is %d bytes, over the 2 MiB limit", c.w, c.h, len(bomb))
		}
		before := cpuTime(t, pid)
		start := time.Now()
		status, body, err := putAvatar(client, p.base, token, bomb, "image/jpeg")
		took := time.Since(start)
		answered := cpuTime(t, pid)
		if err != nil || status < 400 || status > 499 || took > 5*time.Second {
			t.Errorf("%d × %d, 2,000 scans: got %d %s, %v after %v; want a 4xx within 5 s", c.w, c.h, status, body, err, took)
		}
		time.Sleep(2 * time.Second)
		if after := cpuTime(t, pid) - answered; after >= 500*time.Millisecond {
			t.Errorf("%d × %d, 2,000 scans: the process spent %v of CPU in the 2 s after the answer, want under 0.5 s", c.w, c.h, after)
		}
		t.Logf("%d × %d, 2,000 scans (%d bytes): %d in %v, %v of CPU to answer", c.w, c.h, len(bomb), status, took, answered-before)
	}

	bomb := png16(t, 4000, 4000)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			status, body, err := putAvatar(client, p.base, token, bomb, "image/png")
			if err != nil || status >= 500 {
				t.Errorf("16-bit PNG %d: got %d %s, %v; want no 5xx", i, status, body, err)
			}
		})
	}
	wg.Wait()
	if peak := peakRSS(t, pid); peak >= 250<<20 {
		t.Errorf("after four 16-bit 4000 × 4000 PNGs at once: peak RSS %d MiB, want under 250 MiB", peak>>20)
	} else {
		t.Logf("peak RSS %d MiB", peak>>20)
	}
}
