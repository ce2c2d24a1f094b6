package httpapi

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/userd/userd/service"
)

// avatarMultipartSlack is what a multipart upload may add to the image:
// boundaries and part headers.
const avatarMultipartSlack = 64 << 10

// putAvatar takes the image as the raw body (Content-Type image/png or
// image/jpeg) or as the part "avatar" of a multipart/form-data body. The
// bytes must be of the declared type (sniffed), else 415.
func (s *Server) putAvatar(w http.ResponseWriter, r *http.Request) error {
	data, mt, err := readAvatar(w, r)
	if err != nil {
		return err
	}
	u, err := s.avatars.Put(r.Context(), principal(r.Context()), data, mt)
	if err != nil {
		return err
	}
	return reply(w, http.StatusOK, s.private(u))
}

// readAvatar returns the uploaded image and its declared media type.
func readAvatar(w http.ResponseWriter, r *http.Request) ([]byte, string, error) {
	mt := mediaType(r)
	if mt == "multipart/form-data" {
		return readAvatarPart(w, r)
	}
	if mt != service.MediaPNG && mt != service.MediaJPEG {
		return nil, "", unsupportedAvatar(mt)
	}
	data, err := readBody(w, r, service.AvatarMaxBytes)
	if err != nil {
		return nil, "", err
	}
	return data, mt, sniffed(data, mt)
}

// unsupportedAvatar is the 415 of an upload declared as media type mt
// ("" for none), which is not one an avatar may be.
func unsupportedAvatar(mt string) *apiError {
	if mt == "" {
		return &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "no Content-Type was declared: send image/png or image/jpeg"}
	}
	return &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "the declared Content-Type is " + mt + ": send image/png or image/jpeg"}
}

// readAvatarPart reads the part named "avatar" of a multipart body; its
// own Content-Type is the declared type.
func readAvatarPart(w http.ResponseWriter, r *http.Request) ([]byte, string, error) {
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if params["boundary"] == "" {
		return nil, "", malformedBody("the multipart body has no boundary")
	}
	mr := multipart.NewReader(http.MaxBytesReader(w, r.Body, service.AvatarMaxBytes+avatarMultipartSlack), params["boundary"])
	for {
		part, err := mr.NextPart()
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, "", errTooLarge
			}
			if errors.Is(err, io.EOF) {
				return nil, "", service.Invalid(service.FieldError{Field: "avatar", Message: "is required (a file part named avatar)"})
			}
			return nil, "", malformedBody("the multipart body is malformed")
		}
		if part.FormName() != "avatar" {
			continue
		}
		mt, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if mt != service.MediaPNG && mt != service.MediaJPEG {
			return nil, "", unsupportedAvatar(mt)
		}
		data, err := io.ReadAll(io.LimitReader(part, service.AvatarMaxBytes+1))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig) || len(data) > service.AvatarMaxBytes:
			return nil, "", errTooLarge
		case err != nil:
			return nil, "", malformedBody("the multipart body is malformed")
		}
		return data, mt, sniffed(data, mt)
	}
}

// sniffed checks that data, declared as media type mt, looks like it: an
// empty body is 400, bytes of another kind 415 naming both the declared
// type and what the bytes are.
func sniffed(data []byte, mt string) error {
	if len(data) == 0 {
		return malformedBody("the body is empty: send the image (" + mt + ") as the body")
	}
	if got := http.DetectContentType(data); got != mt {
		return &apiError{http.StatusUnsupportedMediaType, "unsupported_media_type", "declared " + mt + ", but the body is " + sniffedKind(got)}
	}
	return nil
}

// sniffedKind describes media type got, as http.DetectContentType found
// it, for an error message.
func sniffedKind(got string) string {
	switch got {
	case service.MediaPNG:
		return "a PNG image (image/png)"
	case service.MediaJPEG:
		return "a JPEG image (image/jpeg)"
	case "application/octet-stream":
		return "of no recognized type"
	}
	mt, _, _ := mime.ParseMediaType(got)
	return "of type " + mt
}

func (s *Server) deleteAvatar(q req) (none, error) {
	return done(s.avatars.Delete(q.Context(), q.caller()))
}

// getAvatar serves a user's avatar (or, with ?size=thumb, its thumbnail)
// to anyone, with a strong ETag: avatars are public, so the answer is the
// same with a token or without (a sent token must still be valid). A URL whose ?v= is the current version
// may be cached forever; any other is revalidated on each use.
func (s *Server) getAvatar(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	q, err := query(r, "v", "size")
	if err != nil {
		return err
	}
	thumb := false
	switch q.Get("size") {
	case "", "full":
	case "thumb":
		thumb = true
	default:
		return service.Invalid(service.FieldError{Field: "size", Message: "must be full or thumb"})
	}
	req := service.AvatarRequest{UserID: id, Thumb: thumb, Known: knownHashes(r.Header.Get("If-None-Match"), thumb)}
	a, err := s.avatars.Get(r.Context(), req)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("ETag", avatarETag(a.Hash, thumb))
	if q.Get("v") == a.Version() {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if a.Data == nil {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", a.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(a.Data)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.Data)
	}
	return nil
}

// avatarETag is the strong ETag of an avatar's image or thumbnail.
func avatarETag(hash string, thumb bool) string {
	if thumb {
		return `"` + hash + `-thumb"`
	}
	return `"` + hash + `"`
}

// knownHashes returns the content hashes that an If-None-Match header
// names for the image (or thumbnail); "*" stands for any.
func knownHashes(header string, thumb bool) []string {
	var out []string
	for _, tag := range ifNoneMatch(header) {
		if thumb && tag != "*" {
			var ok bool
			if tag, ok = strings.CutSuffix(tag, "-thumb"); !ok {
				continue
			}
		}
		out = append(out, tag)
	}
	return out
}

// ifNoneMatch returns the entity tags an If-None-Match header lists,
// without their quotes; "*" stands for any. The comparison is weak, as RFC
// 9110 has it for If-None-Match: W/ is dropped.
func ifNoneMatch(header string) []string {
	var out []string
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" {
			out = append(out, "*")
			continue
		}
		tag = strings.TrimPrefix(tag, "W/")
		if len(tag) < 2 || tag[0] != '"' || tag[len(tag)-1] != '"' {
			continue
		}
		out = append(out, tag[1:len(tag)-1])
	}
	return out
}

// maybeAuthed is authed for routes anyone may call: without a token the
// request goes on anonymous; a token that is sent must be valid.
func (s *Server) maybeAuthed(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if _, ok := bearer(r); !ok && r.Header.Get("Authorization") == "" {
			return h(w, r)
		}
		return s.authed(h)(w, r)
	}
}
