package service

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// gradient is a w × h picture with something to scale.
func gradient(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{R: uint8(x * 255 / w), G: uint8(y * 255 / h), B: 90, A: 255})
		}
	}
	return img
}

func encoded(t testing.TB, img image.Image, mt string) []byte {
	t.Helper()
	var b bytes.Buffer
	var err error
	if mt == MediaPNG {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// declaring is a PNG whose IHDR claims w × h (CRC fixed) over 8 × 8
// pixels of data: a decompression bomb as far as its header goes.
func declaring(t testing.TB, w, h uint32) []byte {
	t.Helper()
	b := encoded(t, gradient(8, 8), MediaPNG)
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

// FuzzProcessAvatar: whatever the bytes and the declared type, processing
// never panics and either refuses the upload as validation_failed (a 422,
// never a 500) or returns a pair of the declared type that decodes: the
// image within AvatarSide a side, the thumbnail AvatarThumbSide square,
// the hash theirs, from a source within the pixel limits. The seed corpus
// (testdata/fuzz/FuzzProcessAvatar, and the seeds below) holds real PNGs
// and JPEGs, a header declaring 50,000 × 50,000, truncated and corrupt
// files, and each type declared for the other's bytes.
func FuzzProcessAvatar(f *testing.F) {
	png1, jpg1 := encoded(f, gradient(40, 30), MediaPNG), encoded(f, gradient(30, 40), MediaJPEG)
	for _, seed := range []struct {
		data []byte
		jpeg bool
	}{
		{png1, false}, {jpg1, true}, {png1, true}, {jpg1, false},
		{encoded(f, gradient(1, 600), MediaPNG), false},
		{declaring(f, 50_000, 50_000), false}, {declaring(f, 4096, 4096), false}, {declaring(f, 0, 5), false},
		{png1[:len(png1)/2], false}, {jpg1[:len(jpg1)/2], true}, {nil, false},
	} {
		f.Add(seed.data, seed.jpeg)
	}
	f.Fuzz(func(t *testing.T, data []byte, isJPEG bool) {
		mt := MediaPNG
		if isJPEG {
			mt = MediaJPEG
		}
		out, err := processAvatar(context.Background(), nil, data, mt)
		if err != nil {
			if de, ok := ErrorOf(err); !ok || de.Code != CodeValidation {
				t.Fatalf("got error %v, want validation_failed", err)
			}
			return
		}
		src, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || "image/"+format != mt {
			t.Fatalf("accepted an upload that is no %s (%v, %q)", mt, err, format)
		}
		if src.Width > AvatarMaxSide || src.Height > AvatarMaxSide || src.Width*src.Height > AvatarMaxPixels {
			t.Fatalf("accepted a %d × %d source, over the limits", src.Width, src.Height)
		}
		if out.ContentType != mt {
			t.Fatalf("got content type %q, want %q", out.ContentType, mt)
		}
		w, h := fit(src.Width, src.Height, AvatarSide)
		checkEncoded(t, "image", out.Image, mt, w, h)
		checkEncoded(t, "thumbnail", out.Thumbnail, mt, AvatarThumbSide, AvatarThumbSide)
		if out.Hash != avatarHash(out.Image, out.Thumbnail) {
			t.Fatalf("got hash %s, not that of the pair", out.Hash)
		}
	})
}

// checkEncoded fails unless b is a w × h image of media type mt.
func checkEncoded(t *testing.T, what string, b []byte, mt string, w, h int) {
	t.Helper()
	img, format, err := image.Decode(bytes.NewReader(b))
	if err != nil || "image/"+format != mt {
		t.Fatalf("%s: got %q, %v; want a %s", what, format, err, mt)
	}
	if got := img.Bounds().Size(); got.X != w || got.Y != h || w < 1 || h < 1 || w > AvatarSide || h > AvatarSide {
		t.Fatalf("%s: got %v, want %d × %d within %d", what, got, w, h, AvatarSide)
	}
}
