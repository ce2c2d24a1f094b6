package service

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// pngHeader is a PNG whose IHDR declares w × h of the given bit depth,
// colour type and interlace method (CRC fixed) over 8 × 8 pixels of data.
func pngHeader(t testing.TB, w, h uint32, depth, colorType, interlace byte) []byte {
	t.Helper()
	b := declaring(t, w, h)
	b[24], b[25], b[28] = depth, colorType, interlace
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// jpegFrame is the structure of a JPEG up to its scans: SOI, a frame
// header sof (0xC0 baseline, 0xC2 progressive) declaring w × h with comps
// components sampled 1 × 1 (4:4:4), and scans empty scans. It is enough
// for image.DecodeConfig and readJPEGLayout, not for decoding.
func jpegFrame(sof byte, w, h, comps, scans int) []byte {
	seg := func(b []byte, marker byte, payload []byte) []byte {
		b = append(b, 0xFF, marker)
		b = binary.BigEndian.AppendUint16(b, uint16(len(payload)+2))
		return append(b, payload...)
	}
	b := []byte{0xFF, 0xD8}
	frame := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(comps)}
	for c := range comps {
		frame = append(frame, byte(c+1), 0x11, 0)
	}
	b = seg(b, sof, frame)
	for range scans {
		b = seg(b, 0xDA, []byte{1, 1, 0x00, 1, 63, 0})
		b = append(b, 0x12, 0x34, 0xFF, 0x00, 0x56) // entropy-coded bytes, a stuffed 0xFF among them
	}
	return append(b, 0xFF, 0xD9)
}

// TestAvatarDecodeBudget: the memory an upload decodes to is counted from
// its header (16-bit samples, interlacing, progressive coefficients) and
// a JPEG's scans are counted, before any pixel is decoded: over the
// bounds is validation_failed, at once.
func TestAvatarDecodeBudget(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		data []byte
		mt   string
		want string // a word of the refusal; "": accepted
	}{
		{"16-bit RGBA PNG 4000 × 4000 (128 MB)", pngHeader(t, 4000, 4000, 16, 6, 0), MediaPNG, "MiB"},
		{"16-bit grey PNG 4000 × 4000 (32 MB)", pngHeader(t, 4000, 4000, 16, 0, 0), MediaPNG, ""},
		{"8-bit RGBA PNG 4000 × 4000 (64 MB)", pngHeader(t, 4000, 4000, 8, 6, 0), MediaPNG, ""},
		{"8-bit RGB PNG 3000 × 3000 interlaced (72 MB)", pngHeader(t, 3000, 3000, 8, 2, 1), MediaPNG, "MiB"},
		{"baseline JPEG 4000 × 4000, 3 components (48 MB)", jpegFrame(0xC0, 4000, 4000, 3, 1), MediaJPEG, ""},
		{"progressive JPEG 4000 × 4000, grey (80 MB)", jpegFrame(0xC2, 4000, 4000, 1, 10), MediaJPEG, "MiB"},
		{"progressive JPEG 2000 × 2000, 3 components (60 MB)", jpegFrame(0xC2, 2000, 2000, 3, 10), MediaJPEG, ""},
		{"progressive JPEG of 32 scans", jpegFrame(0xC2, 800, 600, 3, AvatarMaxScans), MediaJPEG, ""},
		{"progressive JPEG of 33 scans", jpegFrame(0xC2, 800, 600, 3, AvatarMaxScans+1), MediaJPEG, "scans"},
		{"progressive JPEG of 2,000 scans", jpegFrame(0xC2, 800, 600, 1, 2000), MediaJPEG, "scans"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, format, err := image.DecodeConfig(bytes.NewReader(c.data))
			if err != nil || "image/"+format != c.mt {
				t.Fatalf("the test file: got %q, %v; want a %s header", format, err, c.mt)
			}
			_, err = decodedSize(c.data, c.mt, cfg.Width, cfg.Height)
			if c.want == "" {
				if err != nil {
					t.Fatalf("got %v, want it within the budget", err)
				}
				return
			}
			de, ok := ErrorOf(err)
			if !ok || de.Code != CodeValidation || len(de.Fields) != 1 || !strings.Contains(de.Fields[0].Message, c.want) {
				t.Fatalf("got %v, want validation_failed saying %q", err, c.want)
			}
			// processAvatar refuses it the same way, without decoding:
			// the file holds no pixels to decode.
			_, err = processAvatar(context.Background(), nil, c.data, c.mt)
			if de, ok := ErrorOf(err); !ok || len(de.Fields) != 1 || !strings.Contains(de.Fields[0].Message, c.want) {
				t.Fatalf("processAvatar: got %v, want the refusal", err)
			}
		})
	}
}

// cancelOnRead cancels a context on its first read, as a client that
// leaves while its upload decodes.
type cancelOnRead struct {
	r      io.Reader
	cancel context.CancelFunc
	reads  int
}

func (c *cancelOnRead) Read(p []byte) (int, error) {
	c.reads++
	c.cancel()
	return c.r.Read(p)
}

// TestAvatarDecodingStopsWithContext: decoding reads through the
// request's context, so it stops at the next read once the context ends;
// an upload whose context ended gets its context's error (cancelled: the
// client left) or overloaded (the deadline), and one that finds the gate
// full waits no longer than its context.
func TestAvatarDecodingStopsWithContext(t *testing.T) {
	t.Parallel()
	noise := image.NewGray(image.Rect(0, 0, 300, 200))
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range noise.Pix {
		noise.Pix[i] = byte(rnd.Uint32())
	}
	data := encoded(t, noise, MediaPNG)
	if len(data) < 3*4096 {
		t.Fatalf("the test image is %d bytes, want several reads", len(data))
	}
	ctx, cancel := context.WithCancel(context.Background())
	src := &cancelOnRead{r: bytes.NewReader(data), cancel: cancel}
	if _, _, err := image.Decode(ctxReader{ctx: ctx, r: src}); !errors.Is(err, context.Canceled) {
		t.Fatalf("decoding on after the context ended: got %v, want context.Canceled", err)
	}
	if src.reads != 1 {
		t.Fatalf("got %d reads, want the first only", src.reads)
	}

	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	if _, err := processAvatar(done, nil, data, MediaPNG); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled upload: got %v, want context.Canceled", err)
	}
	late, cancelLate := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelLate()
	if _, err := processAvatar(late, nil, data, MediaPNG); !errors.Is(err, ErrImageTimeout) {
		t.Fatalf("an upload past its deadline: got %v, want overloaded", err)
	}

	gate := NewImageGate(1)
	release, err := gate.enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wait, cancelWait := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancelWait()
	start := time.Now()
	_, err = processAvatar(wait, gate, data, MediaPNG)
	if !errors.Is(err, ErrImagesBusy) || time.Since(start) > 3*time.Second {
		t.Fatalf("with the gate full: got %v after %v, want overloaded at the context's deadline", err, time.Since(start))
	}
	release()
	if _, err := processAvatar(context.Background(), gate, data, MediaPNG); err != nil {
		t.Fatalf("with the gate free: %v", err)
	}
}
