package service

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"math"
	"slices"
	"time"
)

// Cursor is a keyset position: the (created_at, id) of the last row of a
// page. The next page holds the rows that sort strictly after it in
// (created_at DESC, id DESC) order.
type Cursor struct {
	CreatedAt time.Time
	ID        int64
}

// firstPage is the position before every row.
var firstPage = Cursor{CreatedAt: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), ID: math.MaxInt64}

// PageRequest asks for one keyset page: Limit nil means DefaultPageLimit,
// Cursor "" means the first page.
type PageRequest struct {
	Limit  *int
	Cursor string
}

// Page is one keyset page of a list. NextCursor is nil on the last page.
type Page[T any] struct {
	Items      []T
	NextCursor *string
}

// Page limits shared by every list.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 200
)

// cursorVersion is the first byte of every cursor; a format change bumps it.
const cursorVersion = 1

// cursorLen is the decoded size of a cursor: version, created_at in
// microseconds since the Unix epoch, id, and HMAC-SHA256 tag.
const cursorLen = 1 + 8 + 8 + sha256.Size

var cursorEncoding = base64.RawURLEncoding.Strict()

// cursorCodec turns keyset positions into opaque strings and back. A
// cursor carries an HMAC-SHA256 tag over its position, the list it belongs
// to (kind) and the filters of the request (bind), so a cursor that was
// altered, or is replayed against another list or other filters, is
// refused.
type cursorCodec struct {
	key []byte
}

func (c cursorCodec) tag(kind string, bind []byte, body []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	var n [8]byte
	// Length-prefixed fields: no two (kind, bind) pairs hash alike.
	for _, part := range [][]byte{[]byte(kind), bind} {
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		m.Write(n[:])
		m.Write(part)
	}
	m.Write(body)
	return m.Sum(nil)
}

// encode returns the cursor of position p in the list kind under filters
// bind.
func (c cursorCodec) encode(kind string, bind []byte, p Cursor) string {
	b := make([]byte, 0, cursorLen)
	b = append(b, cursorVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(p.CreatedAt.UnixMicro()))
	b = binary.BigEndian.AppendUint64(b, uint64(p.ID))
	b = append(b, c.tag(kind, bind, b)...)
	return cursorEncoding.EncodeToString(b)
}

// decode reads a cursor made by encode with the same kind and bind.
// Errors: invalid_cursor.
func (c cursorCodec) decode(kind string, bind []byte, s string) (Cursor, error) {
	if len(s) != cursorEncoding.EncodedLen(cursorLen) {
		return Cursor{}, ErrInvalidCursor
	}
	b, err := cursorEncoding.DecodeString(s)
	if err != nil || len(b) != cursorLen || b[0] != cursorVersion {
		return Cursor{}, ErrInvalidCursor
	}
	body, tag := b[:cursorLen-sha256.Size], b[cursorLen-sha256.Size:]
	if !hmac.Equal(tag, c.tag(kind, bind, body)) {
		return Cursor{}, ErrInvalidCursor
	}
	micros := int64(binary.BigEndian.Uint64(body[1:9]))
	id := int64(binary.BigEndian.Uint64(body[9:17]))
	return Cursor{CreatedAt: time.UnixMicro(micros).UTC(), ID: id}, nil
}

// newCursorCodec returns the codec of a service's page cursors signed with
// key (cloned). It panics, naming the constructor, when key is shorter
// than 16 bytes: a deployment error, not a request's.
func newCursorCodec(constructor string, key []byte) cursorCodec {
	if len(key) < 16 {
		panic("service." + constructor + ": cursor key shorter than 16 bytes")
	}
	return cursorCodec{key: slices.Clone(key)}
}

// PageLimitProblem is the message of a page size out of range, for the
// layers that read the limit before the service sees it.
const PageLimitProblem = "must be an integer between 1 and 200"

// pageLimit checks a requested page size; nil means the default.
// Errors: validation_failed on field limit.
func pageLimit(limit *int) (int, error) {
	if limit == nil {
		return DefaultPageLimit, nil
	}
	if *limit < 1 || *limit > MaxPageLimit {
		return 0, Invalid(FieldError{Field: "limit", Message: PageLimitProblem})
	}
	return *limit, nil
}

// positioned is an item of a keyset list: it knows its position.
type positioned interface{ keyset() Cursor }

// pageAt is a checked page request of one list: the position the page
// starts after, its length, and how its next cursor is made.
type pageAt struct {
	after Cursor
	limit int
	codec cursorCodec
	kind  string
	bind  []byte
}

// startPage checks req, a page request of list kind whose cursors are
// bound to the filters bind.
// Errors: validation_failed (limit), invalid_cursor.
func (c cursorCodec) startPage(kind string, bind []byte, req PageRequest) (pageAt, error) {
	limit, err := pageLimit(req.Limit)
	if err != nil {
		return pageAt{}, err
	}
	p := pageAt{after: firstPage, limit: limit, codec: c, kind: kind, bind: bind}
	if req.Cursor != "" {
		if p.after, err = c.decode(kind, bind, req.Cursor); err != nil {
			return pageAt{}, err
		}
	}
	return p, nil
}

// readPage reads page p: fetch returns up to n rows after a position, one
// more than the page holds (to learn whether a next page exists), and
// conv converts them.
// Errors: fetch's.
func readPage[R any, T positioned](p pageAt, fetch func(after Cursor, n int32) ([]R, error), conv func(R) T) (Page[T], error) {
	rows, err := fetch(p.after, int32(p.limit+1))
	if err != nil {
		return Page[T]{}, err
	}
	out := Page[T]{Items: make([]T, 0, min(len(rows), p.limit))}
	for _, r := range rows[:min(len(rows), p.limit)] {
		out.Items = append(out.Items, conv(r))
	}
	if len(rows) > p.limit {
		next := p.codec.encode(p.kind, p.bind, out.Items[p.limit-1].keyset())
		out.NextCursor = &next
	}
	return out, nil
}
