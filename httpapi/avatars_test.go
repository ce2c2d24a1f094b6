package httpapi_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// testImage is a w × h picture with a gradient, so scaling has work to do.
func testImage(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{R: uint8(x * 255 / w), G: uint8(y * 255 / h), B: 128, A: 255})
		}
	}
	return img
}

func pngOf(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, testImage(w, h)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegOf(t testing.TB, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(w, h), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngDeclaring is a small real PNG whose IHDR claims w × h (CRC fixed):
// a decompression bomb as far as its header goes.
func pngDeclaring(t testing.TB, w, h uint32) []byte {
	t.Helper()
	b := pngOf(t, 8, 8)
	// signature (8), IHDR length (4), "IHDR" (4), width, height, ...
	binary.BigEndian.PutUint32(b[16:], w)
	binary.BigEndian.PutUint32(b[20:], h)
	binary.BigEndian.PutUint32(b[29:], crc32.ChecksumIEEE(b[12:29]))
	return b
}

var avatarURLRE = regexp.MustCompile(`^http://userd\.test/api/v1/users/([0-9]+)/avatar\?v=([0-9a-f]{12})$`)

// putAvatar uploads body as the caller's avatar and returns the response.
func (e *env) putAvatar(tok string, body []byte, contentType string) response {
	e.t.Helper()
	return e.do("PUT", "/api/v1/users/me/avatar", tok, body, "Content-Type", contentType)
}

// avatarPath is the path of the avatar_url in a user body.
func avatarPath(t testing.TB, user map[string]any) string {
	t.Helper()
	u, _ := user["avatar_url"].(string)
	if !avatarURLRE.MatchString(u) {
		t.Fatalf("got avatar_url %v, want %s", user["avatar_url"], avatarURLRE)
	}
	return strings.TrimPrefix(u, "http://userd.test")
}

func decodeImage(t testing.TB, r response) (image.Image, string) {
	t.Helper()
	img, format, err := image.Decode(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("served avatar does not decode: %v", err)
	}
	return img, format
}

func TestAvatarUploadServeAndDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, id := e.signIn("avatar-owner", nil)

	r := e.putAvatar(tok, pngOf(t, 1000, 500), "image/png")
	expect(t, r, http.StatusOK, "")
	path := avatarPath(t, r.json(t))
	if !strings.HasPrefix(path, "/api/v1/users/"+itoa(id)+"/avatar?v=") {
		t.Fatalf("got avatar path %s, want the uploader's (%d)", path, id)
	}
	if got := avatarPath(t, e.do("GET", "/api/v1/users/me", tok, nil).json(t)); got != path {
		t.Fatalf("GET /users/me: got avatar path %s, want %s", got, path)
	}

	// The image: scaled to fit 512 × 512 with its aspect kept, PNG still.
	full := e.do("GET", path, "", nil)
	expect(t, full, http.StatusOK, "")
	img, format := decodeImage(t, full)
	if b := img.Bounds(); format != "png" || b.Dx() != 512 || b.Dy() != 256 {
		t.Fatalf("got a %s of %v, want a png of 512 × 256", format, b.Size())
	}
	etag := full.header.Get("ETag")
	version := path[strings.Index(path, "?v=")+3:]
	if !regexp.MustCompile(`^"[0-9a-f]{64}"$`).MatchString(etag) || !strings.HasPrefix(etag, `"`+version) {
		t.Fatalf("got ETag %s, want the strong content hash starting with the version %s", etag, version)
	}
	for name, want := range map[string]string{
		"Content-Type":           "image/png",
		"Cache-Control":          "public, max-age=31536000, immutable",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := full.header.Get(name); got != want {
			t.Errorf("GET %s: got %s %q, want %q", path, name, got, want)
		}
	}

	// Another version, or none, is revalidated each time.
	base := "/api/v1/users/" + itoa(id) + "/avatar"
	for _, p := range []string{base, base + "?v=000000000000"} {
		r := e.do("GET", p, "", nil)
		expect(t, r, http.StatusOK, "")
		if got := r.header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s: got Cache-Control %q, want no-cache", p, got)
		}
		if got := r.header.Get("ETag"); got != etag {
			t.Errorf("GET %s: got ETag %s, want %s", p, got, etag)
		}
	}

	// Revalidation: 304 without a body for a matching tag (weak, in a
	// list, or *), 200 for another.
	for _, inm := range []string{etag, "W/" + etag, `"nope", ` + etag, "*"} {
		r := e.do("GET", path, "", nil, "If-None-Match", inm)
		if r.status != http.StatusNotModified || len(r.body) != 0 {
			t.Errorf("If-None-Match %s: got %d with %d bytes, want 304 and no body", inm, r.status, len(r.body))
		}
		if got := r.header.Get("ETag"); got != etag {
			t.Errorf("If-None-Match %s: got ETag %s, want %s", inm, got, etag)
		}
	}
	expect(t, e.do("GET", path, "", nil, "If-None-Match", `"0000"`), http.StatusOK, "")

	// The thumbnail: a 96 × 96 centre crop, with a tag of its own.
	thumb := e.do("GET", path+"&size=thumb", "", nil)
	expect(t, thumb, http.StatusOK, "")
	timg, _ := decodeImage(t, thumb)
	if b := timg.Bounds(); b.Dx() != 96 || b.Dy() != 96 {
		t.Fatalf("got a thumbnail of %v, want 96 × 96", b.Size())
	}
	// The source's red grows left to right; a centre crop of a 2:1 image
	// keeps its middle half, so the thumbnail's left edge is about a
	// quarter red, not black.
	if r, _, _, _ := timg.At(0, 48).RGBA(); r>>8 < 40 || r>>8 > 90 {
		t.Errorf("thumbnail left edge: got red %d, want about 64 (the middle half of the source)", r>>8)
	}
	thumbTag := thumb.header.Get("ETag")
	if thumbTag == etag || !strings.HasSuffix(thumbTag, `-thumb"`) {
		t.Fatalf("got thumbnail ETag %s, want its own (image %s)", thumbTag, etag)
	}
	expect(t, e.do("GET", path+"&size=thumb", "", nil, "If-None-Match", etag), http.StatusOK, "")
	expect(t, e.do("GET", path+"&size=thumb", "", nil, "If-None-Match", thumbTag), http.StatusNotModified, "")
	expect(t, e.do("GET", path+"&size=huge", "", nil), http.StatusUnprocessableEntity, "validation_failed")

	// A new upload (JPEG, small: not enlarged) is a new version and URL.
	r = e.putAvatar(tok, jpegOf(t, 300, 400), "image/jpeg")
	expect(t, r, http.StatusOK, "")
	path2 := avatarPath(t, r.json(t))
	if path2 == path {
		t.Fatalf("a new upload kept the avatar URL %s", path)
	}
	full2 := e.do("GET", path2, "", nil)
	expect(t, full2, http.StatusOK, "")
	img2, format2 := decodeImage(t, full2)
	if b := img2.Bounds(); format2 != "jpeg" || b.Dx() != 300 || b.Dy() != 400 || full2.header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("got a %s (%s) of %v, want a jpeg of 300 × 400", format2, full2.header.Get("Content-Type"), b.Size())
	}
	if r := e.do("GET", path2, "", nil, "If-None-Match", etag); r.status != http.StatusOK {
		t.Fatalf("the old ETag after a new upload: got %d, want 200", r.status)
	}
	if r := e.do("GET", path, "", nil); r.header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("the old URL after a new upload: got Cache-Control %q, want no-cache", r.header.Get("Cache-Control"))
	}

	// Delete: 204, avatar_url null, nothing to serve.
	expect(t, e.do("DELETE", "/api/v1/users/me/avatar", tok, nil), http.StatusNoContent, "")
	if got := e.do("GET", "/api/v1/users/me", tok, nil).json(t)["avatar_url"]; got != nil {
		t.Fatalf("after DELETE: got avatar_url %v, want null", got)
	}
	expect(t, e.do("GET", path2, "", nil), http.StatusNotFound, "not_found")
	expect(t, e.do("DELETE", "/api/v1/users/me/avatar", tok, nil), http.StatusNoContent, "")
	expect(t, e.do("GET", "/api/v1/users/999999999/avatar", "", nil), http.StatusNotFound, "not_found")
}

func TestAvatarMultipart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.signIn("avatar-multipart", nil)
	form := func(name, partType string, data []byte) (string, []byte) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		_ = mw.WriteField("note", "hello")
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+name+`"; filename="me.png"`)
		h.Set("Content-Type", partType)
		pw, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = pw.Write(data)
		_ = mw.Close()
		return mw.FormDataContentType(), b.Bytes()
	}
	ct, body := form("avatar", "image/png", pngOf(t, 64, 64))
	r := e.putAvatar(tok, body, ct)
	expect(t, r, http.StatusOK, "")
	expect(t, e.do("GET", avatarPath(t, r.json(t)), "", nil), http.StatusOK, "")

	ct, body = form("avatar", "image/png", jpegOf(t, 64, 64))
	expect(t, e.putAvatar(tok, body, ct), http.StatusUnsupportedMediaType, "unsupported_media_type")
	ct, body = form("picture", "image/png", pngOf(t, 64, 64))
	expect(t, e.putAvatar(tok, body, ct), http.StatusUnprocessableEntity, "validation_failed")
	ct, body = form("avatar", "image/png", nil)
	expect(t, e.putAvatar(tok, body, ct), http.StatusBadRequest, "invalid_json")
	ct, body = form("avatar", "image/png", bytes.Repeat([]byte{0}, 2<<20+1))
	expect(t, e.putAvatar(tok, body, ct), http.StatusRequestEntityTooLarge, "payload_too_large")
}

func TestAvatarRejectsBadUploads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.signIn("avatar-rejects", nil)
	good := pngOf(t, 32, 32)
	truncated := pngOf(t, 200, 200)
	truncated = truncated[:len(truncated)/2]
	big := append(pngOf(t, 16, 16), make([]byte, 2<<20)...) // a valid PNG, padded past 2 MiB
	for _, c := range []struct {
		name   string
		body   []byte
		ct     string
		status int
		code   string
		detail []string // what the problem's detail must say
	}{
		{"over 2 MiB", big, "image/png", http.StatusRequestEntityTooLarge, "payload_too_large", nil},
		{"JPEG bytes declared PNG", jpegOf(t, 32, 32), "image/png", http.StatusUnsupportedMediaType, "unsupported_media_type", []string{"declared image/png", "is a JPEG image"}},
		{"PNG bytes declared JPEG", good, "image/jpeg", http.StatusUnsupportedMediaType, "unsupported_media_type", []string{"declared image/jpeg", "is a PNG image"}},
		{"text declared JPEG", []byte("hello, world"), "image/jpeg", http.StatusUnsupportedMediaType, "unsupported_media_type", []string{"declared image/jpeg", "text/plain"}},
		{"GIF", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), "image/gif", http.StatusUnsupportedMediaType, "unsupported_media_type", []string{"image/gif", "image/png or image/jpeg"}},
		{"JSON", []byte(`{"avatar": "x"}`), "application/json", http.StatusUnsupportedMediaType, "unsupported_media_type", []string{"application/json"}},
		{"no Content-Type", good, "", http.StatusUnsupportedMediaType, "unsupported_media_type", []string{"no Content-Type"}},
		{"empty", []byte{}, "image/png", http.StatusBadRequest, "invalid_json", []string{"empty"}},
		{"empty, declared JPEG", []byte{}, "image/jpeg", http.StatusBadRequest, "invalid_json", []string{"empty"}},
		{"header claims 50000 × 50000", pngDeclaring(t, 50000, 50000), "image/png", http.StatusUnprocessableEntity, "validation_failed", nil},
		{"header claims 4097 wide", pngDeclaring(t, 4097, 10), "image/png", http.StatusUnprocessableEntity, "validation_failed", nil},
		{"header claims over 16 MP", pngDeclaring(t, 4096, 3907), "image/png", http.StatusUnprocessableEntity, "validation_failed", nil},
		{"truncated PNG", truncated, "image/png", http.StatusUnprocessableEntity, "validation_failed", nil},
		{"PNG signature only", []byte("\x89PNG\r\n\x1a\n"), "image/png", http.StatusUnprocessableEntity, "validation_failed", nil},
		{"JPEG header only", jpegOf(t, 32, 32)[:40], "image/jpeg", http.StatusUnprocessableEntity, "validation_failed", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.putAvatar(tok, c.body, c.ct)
			expect(t, r, c.status, c.code)
			detail, _ := r.json(t)["detail"].(string)
			for _, want := range c.detail {
				if !strings.Contains(detail, want) {
					t.Errorf("got detail %q, want it to say %q", detail, want)
				}
			}
		})
	}
	if got := e.do("GET", "/api/v1/users/me", tok, nil).json(t)["avatar_url"]; got != nil {
		t.Fatalf("after rejected uploads: got avatar_url %v, want null", got)
	}
	var n int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM avatars").Scan(&n); err != nil || n != 0 {
		t.Fatalf("after rejected uploads: got %d avatar rows (%v), want 0", n, err)
	}
}

// TestAvatarPublicToBlockedHiddenWhenGone: avatars are public, as
// Gravatar's are, so a block does not hide one: the blocked user gets the
// same answer signed in as without a token (the URL answers anyone). A
// deactivated or deleted user's avatar is gone for everyone.
func TestAvatarPublicToBlockedHiddenWhenGone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ownerTok, ownerID := e.signIn("avatar-shy", nil)
	blockedTok, blockedID := e.signIn("avatar-blocked", nil)
	otherTok, _ := e.signIn("avatar-other", nil)
	adminTok, _ := e.userWithRole("avatar-admin", "admin")
	r := e.putAvatar(ownerTok, pngOf(t, 40, 40), "image/png")
	expect(t, r, http.StatusOK, "")
	path := avatarPath(t, r.json(t))

	if _, err := e.pool.Exec(context.Background(), "INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2)", ownerID, blockedID); err != nil {
		t.Fatal(err)
	}
	anonymous := e.do("GET", path, "", nil)
	expect(t, anonymous, http.StatusOK, "")
	for name, tok := range map[string]string{"the blocked user": blockedTok, "another user": otherTok} {
		got := e.do("GET", path, tok, nil)
		if got.status != anonymous.status || !bytes.Equal(got.body, anonymous.body) || got.header.Get("ETag") != anonymous.header.Get("ETag") {
			t.Errorf("%s: got %d (%d bytes, ETag %s), want the anonymous answer %d (%d bytes, ETag %s)",
				name, got.status, len(got.body), got.header.Get("ETag"), anonymous.status, len(anonymous.body), anonymous.header.Get("ETag"))
		}
	}
	expect(t, e.do("GET", path+"&size=thumb", blockedTok, nil), http.StatusOK, "")
	expect(t, e.do("GET", path, "not-a-token", nil), http.StatusUnauthorized, "invalid_token")

	expect(t, e.do("POST", "/api/v1/users/"+itoa(ownerID)+"/deactivate", adminTok, nil), http.StatusOK, "")
	expect(t, e.do("GET", path, "", nil), http.StatusNotFound, "not_found")
	expect(t, e.do("POST", "/api/v1/users/"+itoa(ownerID)+"/reactivate", adminTok, nil), http.StatusOK, "")
	expect(t, e.do("GET", path, "", nil), http.StatusOK, "")

	// Deleting the account removes the avatar itself, not only the link.
	expect(t, e.do("DELETE", "/api/v1/users/me", ownerTok, nil), http.StatusOK, "")
	expect(t, e.do("GET", path, "", nil), http.StatusNotFound, "not_found")
	var n int
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM avatars WHERE user_id = $1", ownerID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("after account deletion: got %d avatar rows (%v), want 0", n, err)
	}
}

func TestAvatarDropsEXIF(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok, _ := e.signIn("avatar-exif", nil)
	src := withEXIFGPS(t, jpegOf(t, 640, 480))
	if !hasEXIFGPS(src) {
		t.Fatal("the test image carries no EXIF GPS block")
	}
	if _, _, err := image.Decode(bytes.NewReader(src)); err != nil {
		t.Fatalf("the test image with EXIF does not decode: %v", err)
	}
	r := e.putAvatar(tok, src, "image/jpeg")
	expect(t, r, http.StatusOK, "")
	path := avatarPath(t, r.json(t))
	for _, p := range []string{path, path + "&size=thumb"} {
		got := e.do("GET", p, "", nil)
		expect(t, got, http.StatusOK, "")
		if hasEXIFGPS(got.body) || bytes.Contains(got.body, []byte("Exif\x00\x00")) || bytes.Contains(got.body, gpsLatitude) {
			t.Errorf("GET %s: the served JPEG still carries EXIF", p)
		}
		if _, format := decodeImage(t, got); format != "jpeg" {
			t.Errorf("GET %s: got %s, want jpeg", p, format)
		}
	}
}

// gpsLatitude is the rational triple 12/1 58/1 1748/100 (12° 58' 17.48"),
// as the EXIF block of withEXIFGPS stores it.
var gpsLatitude = func() []byte {
	var b []byte
	for _, v := range []uint32{12, 1, 58, 1, 1748, 100} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}()

// withEXIFGPS inserts after the SOI of a JPEG an APP1 segment holding a
// real EXIF block (big-endian TIFF): IFD0 with Make and a GPSInfo pointer,
// and a GPS IFD with latitude and longitude.
func withEXIFGPS(t testing.TB, jpg []byte) []byte {
	t.Helper()
	be := binary.BigEndian
	var tiff []byte
	tiff = append(tiff, 'M', 'M', 0, 42)
	tiff = be.AppendUint32(tiff, 8) // IFD0 offset
	type entry struct {
		tag, typ uint16
		count    uint32
		value    uint32
	}
	ifd := func(entries []entry) {
		tiff = be.AppendUint16(tiff, uint16(len(entries)))
		for _, en := range entries {
			tiff = be.AppendUint16(tiff, en.tag)
			tiff = be.AppendUint16(tiff, en.typ)
			tiff = be.AppendUint32(tiff, en.count)
			tiff = be.AppendUint32(tiff, en.value)
		}
		tiff = be.AppendUint32(tiff, 0) // no next IFD
	}
	const ascii, long, rational = 2, 4, 5
	// IFD0 at 8: 2 entries → 2 + 24 + 4 = 30 bytes; "Make" data at 38;
	// GPS IFD at 46: 4 entries → 54 bytes; rationals from 100.
	ifd([]entry{
		{0x010f, ascii, 8, 38}, // Make → "userdcam"
		{0x8825, long, 1, 46},  // GPSInfo IFD pointer
	})
	tiff = append(tiff, "userdcam"...)
	ifd([]entry{
		{0x0001, ascii, 2, 'N' << 24}, // GPSLatitudeRef "N"
		{0x0002, rational, 3, 100},    // GPSLatitude
		{0x0003, ascii, 2, 'E' << 24}, // GPSLongitudeRef "E"
		{0x0004, rational, 3, 124},    // GPSLongitude
	})
	if len(tiff) != 100 {
		t.Fatalf("EXIF layout: GPS data at %d, want 100", len(tiff))
	}
	tiff = append(tiff, gpsLatitude...)
	for _, v := range []uint32{77, 1, 35, 1, 4572, 100} {
		tiff = be.AppendUint32(tiff, v)
	}
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xFF, 0xE1}
	seg = be.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// hasEXIFGPS walks a JPEG's segments up to the image data and reports
// whether an APP1 Exif segment holds a GPSInfo (0x8825) entry in IFD0.
func hasEXIFGPS(jpg []byte) bool {
	for i := 2; i+4 <= len(jpg) && jpg[i] == 0xFF; {
		marker := jpg[i+1]
		n := int(binary.BigEndian.Uint16(jpg[i+2:]))
		if marker == 0xDA || i+2+n > len(jpg) { // start of scan
			return false
		}
		seg := jpg[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			tiff := seg[6:]
			var bo binary.ByteOrder = binary.BigEndian
			if bytes.HasPrefix(tiff, []byte("II")) {
				bo = binary.LittleEndian
			}
			off := int(bo.Uint32(tiff[4:]))
			count := int(bo.Uint16(tiff[off:]))
			for k := range count {
				if bo.Uint16(tiff[off+2+12*k:]) == 0x8825 {
					return true
				}
			}
		}
		i += 2 + n
	}
	return false
}
