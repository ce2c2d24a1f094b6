package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/draw"
)

// Limits of an uploaded avatar. A header that declares more pixels than
// these is refused before a single pixel is decoded: a 20 KB PNG can
// declare 50,000 × 50,000.
const (
	AvatarMaxBytes  = 2 << 20 // the largest upload accepted (2 MiB)
	AvatarMaxSide   = 4096    // widest or tallest source image
	AvatarMaxPixels = 16_000_000
	AvatarSide      = 512 // the stored image fits in AvatarSide × AvatarSide
	AvatarThumbSide = 96  // the thumbnail is AvatarThumbSide square
	jpegQuality     = 85
)

// Media types of avatars.
const (
	MediaPNG  = "image/png"
	MediaJPEG = "image/jpeg"
)

// avatarImages is an upload re-encoded: the image, its thumbnail (both of
// one media type) and the content hash of the pair.
type avatarImages struct {
	ContentType string
	Image       []byte
	Thumbnail   []byte
	Hash        string // hex SHA-256 of Image and Thumbnail
}

// avatarInvalid is the validation error of an unusable upload.
func avatarInvalid(msg string) error {
	return Invalid(FieldError{Field: "avatar", Message: msg})
}

// processAvatar checks an upload of media type mt (MediaPNG or MediaJPEG)
// and re-encodes it: the image scaled to fit AvatarSide (aspect kept,
// never enlarged) and an AvatarThumbSide square thumbnail cropped from the
// centre, both with Catmull-Rom. Only pixels survive re-encoding: EXIF
// (GPS included), ICC profiles, text chunks and comments are dropped, from
// an image small enough to keep its size too.
//
// The work is bounded before a pixel is decoded: the header's size, the
// memory it decodes to (AvatarMaxDecoded) and a JPEG's scans
// (AvatarMaxScans). Decoding and scaling run under a place of gate (nil:
// none) and stop soon after ctx ends.
// Errors: validation_failed (field avatar) for a header over the limits or
// a corrupt or truncated image; overloaded when no decoding place came
// free in time; ctx's error when it ended.
func processAvatar(ctx context.Context, gate *ImageGate, data []byte, mt string) (avatarImages, error) {
	if mt != MediaPNG && mt != MediaJPEG {
		return avatarImages{}, avatarInvalid("must be a PNG or JPEG image")
	}
	if len(data) > AvatarMaxBytes {
		return avatarImages{}, avatarInvalid("must be at most 2 MiB")
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return avatarImages{}, avatarInvalid("is not a readable PNG or JPEG image")
	}
	if "image/"+format != mt {
		return avatarImages{}, avatarInvalid("is not a " + mt + " image")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return avatarImages{}, avatarInvalid("has no pixels")
	}
	if cfg.Width > AvatarMaxSide || cfg.Height > AvatarMaxSide {
		return avatarImages{}, avatarInvalid(fmt.Sprintf("is %d × %d; at most %d pixels a side", cfg.Width, cfg.Height, AvatarMaxSide))
	}
	if int64(cfg.Width)*int64(cfg.Height) > AvatarMaxPixels {
		return avatarImages{}, avatarInvalid(fmt.Sprintf("is %d × %d; at most 16 megapixels", cfg.Width, cfg.Height))
	}
	if _, err := decodedSize(data, mt, cfg.Width, cfg.Height); err != nil {
		return avatarImages{}, err
	}
	if gate != nil {
		release, err := gate.enter(ctx)
		if err != nil {
			return avatarImages{}, err
		}
		defer release()
	}
	src, _, err := image.Decode(ctxReader{ctx: ctx, r: bytes.NewReader(data)})
	if ctx.Err() != nil {
		return avatarImages{}, stopped(ctx, "decode avatar")
	}
	if err != nil {
		return avatarImages{}, avatarInvalid("is corrupt or truncated")
	}
	b := src.Bounds()
	w, h := fit(b.Dx(), b.Dy(), AvatarSide)
	full := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(full, full.Bounds(), src, b, draw.Src, nil)
	if ctx.Err() != nil {
		return avatarImages{}, stopped(ctx, "scale avatar")
	}

	side := min(b.Dx(), b.Dy())
	crop := image.Rect(0, 0, side, side).Add(b.Min).Add(image.Pt((b.Dx()-side)/2, (b.Dy()-side)/2))
	thumb := image.NewNRGBA(image.Rect(0, 0, AvatarThumbSide, AvatarThumbSide))
	draw.CatmullRom.Scale(thumb, thumb.Bounds(), src, crop, draw.Src, nil)

	out := avatarImages{ContentType: mt}
	if out.Image, err = encodeAvatar(full, mt); err != nil {
		return avatarImages{}, err
	}
	if out.Thumbnail, err = encodeAvatar(thumb, mt); err != nil {
		return avatarImages{}, err
	}
	out.Hash = avatarHash(out.Image, out.Thumbnail)
	return out, nil
}

// fit scales w × h down to fit a box × box square, keeping the aspect
// ratio; a smaller image keeps its size. No side drops below one pixel.
func fit(w, h, box int) (int, int) {
	if w <= box && h <= box {
		return w, h
	}
	if w >= h {
		return box, max(1, h*box/w)
	}
	return max(1, w*box/h), box
}

func encodeAvatar(img image.Image, mt string) ([]byte, error) {
	var buf bytes.Buffer
	var err error
	if mt == MediaPNG {
		err = (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQuality})
	}
	if err != nil {
		return nil, fmt.Errorf("encode avatar: %w", err)
	}
	return buf.Bytes(), nil
}

// avatarHash is the hex SHA-256 of the image and the thumbnail, each
// preceded by its length so that no two pairs share an input.
func avatarHash(img, thumb []byte) string {
	h := sha256.New()
	var n [8]byte
	for _, part := range [][]byte{img, thumb} {
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	return hex.EncodeToString(h.Sum(nil))
}
