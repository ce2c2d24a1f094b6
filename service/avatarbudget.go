package service

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// Bounds of the work one avatar may cost, checked from the file's own
// structure before a pixel is decoded: a 64 KB progressive JPEG can ask
// for thousands of passes over 16 megapixels, and a 124 KB PNG can
// declare 16-bit samples that decode to 128 MB.
const (
	// AvatarMaxDecoded is the most memory an upload may decode to:
	// width × height × bytes per pixel as the decoder holds them (a
	// progressive JPEG also keeps 4 bytes of coefficients per sample, an
	// interlaced PNG its passes). 4000 × 4000 8-bit RGBA fits; 16-bit
	// does not.
	AvatarMaxDecoded = 64 << 20
	// AvatarMaxScans is the most scans a JPEG may have; real encoders
	// emit at most about a dozen, and each costs a pass over every block.
	AvatarMaxScans = 32
	// imageWait is the longest an upload waits for a decoding place
	// (the request's deadline may end it sooner).
	imageWait = 5 * time.Second
)

// The overloaded errors of an upload: every decoding place of the
// ImageGate stayed taken too long, or the request's deadline ended the
// decoding.
var (
	ErrImagesBusy   = &Error{Code: CodeOverloaded, Message: "too many images are being processed; try again shortly", RetryAfter: time.Second}
	ErrImageTimeout = &Error{Code: CodeOverloaded, Message: "the image took too long to process; try again shortly", RetryAfter: time.Second}
)

// stopped is the error of image work that ctx ended during what: the
// request's deadline is overloaded, a cancellation (the client left) is
// passed on.
func stopped(ctx context.Context, what string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return withCause(ErrImageTimeout, fmt.Errorf("%s: %w", what, ctx.Err()))
	}
	return fmt.Errorf("%s: %w", what, ctx.Err())
}

// ImageGate bounds image decoding: at most its concurrency run at once,
// each within AvatarMaxDecoded bytes, so that decoded images never hold
// more than concurrency × AvatarMaxDecoded (plus each one's scaling
// buffer, at most AvatarMaxSide × 608 × 32 bytes). A caller waits at most
// imageWait for a place. Safe for concurrent use.
type ImageGate struct {
	slots chan struct{}
}

// NewImageGate returns a gate of concurrency places (at least 1):
// USERD_IMAGE_CONCURRENCY, default 1.
func NewImageGate(concurrency int) *ImageGate {
	return &ImageGate{slots: make(chan struct{}, max(1, concurrency))}
}

// enter waits for a place and returns the function that gives it back.
// Errors: overloaded (no place within imageWait, or before ctx's
// deadline), ctx's error when it is cancelled.
func (g *ImageGate) enter(ctx context.Context) (func(), error) {
	release := func() { <-g.slots }
	select {
	case g.slots <- struct{}{}:
		return release, nil
	default:
	}
	timer := time.NewTimer(imageWait)
	defer timer.Stop()
	select {
	case g.slots <- struct{}{}:
		return release, nil
	case <-timer.C:
		return nil, ErrImagesBusy
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, withCause(ErrImagesBusy, ctx.Err())
		}
		return nil, fmt.Errorf("wait for an image decoding place: %w", ctx.Err())
	}
}

// ctxReader reads r until ctx ends, at most 4 KiB at a time, so that a
// decoder reading from it stops soon after: a request whose client left,
// or which was answered 503, stops decoding at its next read.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p[:min(len(p), 4096)])
}

// decodedSize returns the bytes an upload of media type mt, w × h pixels
// by its header, decodes to, and refuses a JPEG of more than
// AvatarMaxScans scans; it reads only the file's structure.
// Errors: validation_failed (field avatar) for too many scans or a size
// over AvatarMaxDecoded.
func decodedSize(data []byte, mt string, w, h int) (int64, error) {
	var n int64
	if mt == MediaPNG {
		n = pngDecodedSize(data, w, h)
	} else {
		l, err := readJPEGLayout(data)
		if err != nil {
			return 0, err
		}
		n = l.decodedSize(w, h)
	}
	if n > AvatarMaxDecoded {
		return 0, avatarInvalid(fmt.Sprintf("is %d × %d and decodes to %d MiB; at most %d MiB (16-bit samples and progressive JPEGs take more: upload a smaller image)",
			w, h, (n+(1<<20)-1)>>20, AvatarMaxDecoded>>20))
	}
	return n, nil
}

// pngDecodedSize is w × h × the bytes per pixel of the image Go's decoder
// makes for the IHDR's colour type and bit depth, doubled for an
// interlaced image (its passes are decoded apart, then merged).
func pngDecodedSize(data []byte, w, h int) int64 {
	// signature (8), IHDR length (4) and type (4), width, height (8),
	// bit depth, colour type, compression, filter, interlace.
	if len(data) < 29 {
		return 0
	}
	depth, colorType, interlace := data[24], data[25], data[28]
	bpp := int64(4) // truecolour (RGBA), grey or truecolour with alpha (NRGBA)
	switch colorType {
	case 0, 3: // grey, paletted
		bpp = 1
	}
	if depth == 16 {
		bpp *= 2
		if colorType != 0 {
			bpp = 8
		}
	}
	n := int64(w) * int64(h) * bpp
	if interlace == 1 {
		n *= 2
	}
	return n
}

// jpegLayout is what the segments of a JPEG say before its pixels.
type jpegLayout struct {
	progressive bool
	comps       [][2]int // each component's horizontal and vertical sampling factors
	adobeRGB    bool     // an Adobe APP14 segment says the samples are RGB or CMYK, not YCbCr/YCCK
	scans       int
}

// readJPEGLayout walks the segments of a JPEG (skipping the entropy-coded
// data after each start of scan) up to the end of image.
// Errors: validation_failed (field avatar) past AvatarMaxScans scans.
// Malformed structure is left to the decoder to refuse.
func readJPEGLayout(data []byte) (jpegLayout, error) {
	var l jpegLayout
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			return l, nil
		}
		m := data[i+1]
		switch {
		case m == 0xFF: // fill byte
			i++
			continue
		case m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7): // no length
			i += 2
			continue
		case m == 0xD9: // end of image
			return l, nil
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return l, nil
		}
		seg := data[i+4 : i+2+n]
		i += 2 + n
		switch m {
		case 0xC0, 0xC1, 0xC2: // start of frame: baseline, extended, progressive
			l.progressive = m == 0xC2
			l.comps = l.comps[:0]
			if len(seg) >= 6 {
				for k := range int(seg[5]) {
					if 6+3*k+2 >= len(seg) {
						break
					}
					s := seg[6+3*k+1]
					l.comps = append(l.comps, [2]int{max(1, int(s>>4)), max(1, int(s&0x0F))})
				}
			}
		case 0xEE: // APP14
			if bytes.HasPrefix(seg, []byte("Adobe")) && len(seg) >= 12 && seg[11] == 0 {
				l.adobeRGB = true
			}
		case 0xDA: // start of scan
			l.scans++
			if l.scans > AvatarMaxScans {
				return l, avatarInvalid(fmt.Sprintf("is a JPEG of more than %d scans; re-encode it (real encoders use about 10)", AvatarMaxScans))
			}
			for i+1 < len(data) && (data[i] != 0xFF || data[i+1] == 0 || data[i+1] == 0xFF || (data[i+1] >= 0xD0 && data[i+1] <= 0xD7)) {
				i++
			}
		}
	}
	return l, nil
}

// decodedSize is the bytes Go's decoder holds for a w × h image of this
// layout: every component's samples in whole blocks of the MCU grid, 4
// more bytes a sample of coefficients when progressive, and a w × h × 4
// image when the samples are converted (CMYK, Adobe RGB).
func (l jpegLayout) decodedSize(w, h int) int64 {
	if len(l.comps) == 0 {
		return 0
	}
	if len(l.comps) == 1 {
		l.comps[0] = [2]int{1, 1} // a single component is decoded in 8 × 8 units
	}
	hmax, vmax := 1, 1
	for _, c := range l.comps {
		hmax, vmax = max(hmax, c[0]), max(vmax, c[1])
	}
	mxx := int64((w + 8*hmax - 1) / (8 * hmax))
	myy := int64((h + 8*vmax - 1) / (8 * vmax))
	var samples int64
	for _, c := range l.comps {
		samples += 64 * mxx * myy * int64(c[0]*c[1])
	}
	n := samples
	if l.progressive {
		n += 4 * samples
	}
	if len(l.comps) == 4 || (len(l.comps) == 3 && l.adobeRGB) {
		n += 4 * int64(w) * int64(h)
	}
	return n
}
