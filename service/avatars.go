package service

import (
	"context"
	"strconv"

	"github.com/userd/userd/dbgen"
)

// Avatars keeps profile pictures: a re-encoded image of at most
// AvatarSide × AvatarSide and a square thumbnail, both in PostgreSQL.
type Avatars struct {
	db   *DB
	gate *ImageGate // bounds decoding: USERD_IMAGE_CONCURRENCY
}

// NewAvatars returns the Avatars service, decoding one image at a time
// (see LimitDecoding).
func NewAvatars(db *DB) *Avatars { return &Avatars{db: db, gate: NewImageGate(1)} }

// LimitDecoding lets concurrency uploads decode at once
// (USERD_IMAGE_CONCURRENCY); the others wait, up to 5 s, for a place.
// Call it before the first upload. It returns a.
func (a *Avatars) LimitDecoding(concurrency int) *Avatars {
	a.gate = NewImageGate(concurrency)
	return a
}

// AvatarVersionLen is how many hex digits of the content hash the avatar
// URL carries as its version (?v=).
const AvatarVersionLen = 12

// AvatarPath is the URL path of user id's avatar at version hash: a new
// upload changes it, so clients may cache each version forever.
func AvatarPath(id int64, hash string) string {
	return "/api/v1/users/" + strconv.FormatInt(id, 10) + "/avatar?v=" + hash[:AvatarVersionLen]
}

// Put checks and re-encodes data, an upload of media type mt (MediaPNG or
// MediaJPEG), stores the image and its thumbnail and points the user's
// avatar URL at them, all in one transaction. It returns the user.
// Decoding waits for a place of the gate and stops when ctx ends.
// Errors: validation_failed (field avatar: over the size, pixel, memory
// or scan limits, corrupt, not of type mt), overloaded (no decoding place
// within 5 s or ctx's deadline), not_found (user deleted),
// db_unavailable.
func (a *Avatars) Put(ctx context.Context, by Principal, data []byte, mt string) (User, error) {
	userID := by.User.ID
	imgs, err := processAvatar(ctx, a.gate, data, mt)
	if err != nil {
		return User{}, err
	}
	return inTxV(ctx, a.db, func(q *dbgen.Queries) (User, error) {
		u, err := q.UserGetByIDForUpdate(ctx, userID)
		if err != nil {
			return User{}, err
		}
		if u.DeletedAt != nil {
			return User{}, ErrNotFound
		}
		if err := q.AvatarUpsert(ctx, dbgen.AvatarUpsertParams{
			UserID: userID, ContentType: imgs.ContentType, Image: imgs.Image, Thumbnail: imgs.Thumbnail, Etag: imgs.Hash,
		}); err != nil {
			return User{}, err
		}
		path := AvatarPath(userID, imgs.Hash)
		if err := q.UserUpdateAvatar(ctx, dbgen.UserUpdateAvatarParams{Avatar: &path, ID: userID}); err != nil {
			return User{}, err
		}
		u.Avatar = &path
		return userFromRow(u), userEvent(ctx, q, EventUserUpdated, userID, "fields", []string{"avatar_url"})
	})
}

// Delete removes the user's avatar and clears their avatar URL; removing
// none is no error.
// Errors: db_unavailable.
func (a *Avatars) Delete(ctx context.Context, by Principal) error {
	userID := by.User.ID
	return inTx(ctx, a.db, func(q *dbgen.Queries) error {
		if _, err := q.AvatarDelete(ctx, userID); err != nil {
			return err
		}
		return q.UserUpdateAvatar(ctx, dbgen.UserUpdateAvatarParams{Avatar: nil, ID: userID})
	})
}

// Avatar is a stored avatar as a reader gets it.
type Avatar struct {
	Hash        string // hex SHA-256 of the image and thumbnail
	ContentType string
	Data        []byte // nil when the reader already holds this version
}

// Version is the version the avatar URL carries.
func (a Avatar) Version() string { return a.Hash[:AvatarVersionLen] }

// AvatarRequest says which avatar a reader asks for.
type AvatarRequest struct {
	UserID int64
	Thumb  bool     // the thumbnail rather than the image
	Known  []string // content hashes the reader holds ("*": any)
}

// Get returns a user's avatar, without its bytes when the reader already
// holds this version. A user who is deleted or inactive or who has no
// avatar has none to show. Avatars are public, as Gravatar's are: a block
// does not hide one, since its URL answers anyone without a token.
// Errors: not_found, db_unavailable.
func (a *Avatars) Get(ctx context.Context, r AvatarRequest) (Avatar, error) {
	known := r.Known
	if known == nil {
		known = []string{}
	}
	row, err := a.db.q.AvatarGetVisible(ctx, dbgen.AvatarGetVisibleParams{
		UserID: r.UserID, Thumb: r.Thumb, Known: known,
	})
	if err != nil {
		return Avatar{}, err
	}
	return Avatar{Hash: row.Etag, ContentType: row.ContentType, Data: row.Data}, nil
}
