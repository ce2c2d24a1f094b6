package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/userd/userd/config"
	"github.com/userd/userd/service"
)

// benchAvatarFlags declares the flags of bench avatar.
func benchAvatarFlags(fs *flag.FlagSet) (users, side, concurrency *int, duration *time.Duration, maxRequests *int) {
	return fs.Int("users", 100, "users with an avatar"),
		fs.Int("side", 1024, "side of the uploaded JPEG (stored at most 512)"),
		fs.Int("concurrency", 16, "concurrent clients"),
		fs.Duration("duration", 10*time.Second, "how long to send requests, per path (at most)"),
		fs.Int("requests", 200_000, "requests to send, per path (at most)")
}

// benchAvatar seeds users with an avatar each (uploaded through the
// service, so re-encoded as in production), serves userd on a loopback
// port and drives GET /api/v1/users/{id}/avatar?v=… twice: once as a
// first visit (200 with the bytes) and once revalidating with
// If-None-Match (304), each for a bounded time and request count.
func benchAvatar(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	fs := newFlagSet("bench avatar")
	users, side, concurrency, duration, maxRequests := benchAvatarFlags(fs)
	if err := parseAll(fs, args); err != nil {
		return err
	}
	if *users < 1 || *side < 1 {
		return fmt.Errorf("bench avatar: -users and -side must be positive")
	}
	db, seed, err := benchOpen(ctx, cfg, stdout)
	if err != nil {
		return err
	}
	defer db.Close()
	phone := func(i int) string { return fmt.Sprintf("+9191%08d", i) }
	if err := seed.SeedUsers(ctx, *users, []string{"phone", "is_seed_data"}, func(i int) []any { return []any{phone(i), true} }); err != nil {
		return err
	}
	upload, err := benchJPEG(*side)
	if err != nil {
		return err
	}
	avatars := service.NewAvatars(db)
	paths := make([]string, *users)
	start := time.Now()
	for i := range paths {
		id, err := seed.UserIDByPhone(ctx, phone(i))
		if err != nil {
			return err
		}
		u, err := avatars.Put(ctx, service.Principal{User: service.User{ID: id}}, upload, service.MediaJPEG)
		if err != nil {
			return fmt.Errorf("upload avatar %d: %w", i, err)
		}
		paths[i] = *u.AvatarURL
	}
	fmt.Fprintf(stdout, "uploaded %d avatars (%d × %d JPEG, %d bytes) in %s\n", *users, *side, *side, len(upload), time.Since(start).Round(time.Millisecond))

	a, err := build(ctx, cfg, db, &tracing{}, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: a.handler, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	target := func(i int) string { return base + paths[i%len(paths)] }

	etags := make([]string, len(paths))
	size := 0
	for i := range paths {
		res, err := http.Get(target(i))
		if err != nil {
			return err
		}
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
			return fmt.Errorf("GET %s: got %d (%s), want 200 immutable", paths[i], res.StatusCode, res.Header.Get("Cache-Control"))
		}
		etags[i], size = res.Header.Get("ETag"), int(n)
	}
	for _, c := range []struct {
		name    string
		want    int
		prepare func(*http.Request, int)
	}{
		{"200 (bytes)", http.StatusOK, func(*http.Request, int) {}},
		{"304 (If-None-Match)", http.StatusNotModified, func(r *http.Request, i int) { r.Header.Set("If-None-Match", etags[i%len(etags)]) }},
	} {
		res, err := drive(ctx, target, c.prepare, c.want, *concurrency, *duration, *maxRequests)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "GET /api/v1/users/{id}/avatar %s: %d requests over %d avatars of ~%d bytes, concurrency %d, %s: %.0f req/s, p50 %s, p99 %s, errors %d\n",
			c.name, res.n, len(paths), size, *concurrency, res.elapsed.Round(time.Millisecond), float64(res.n)/res.elapsed.Seconds(),
			res.p50.Round(time.Microsecond), res.p99.Round(time.Microsecond), res.errors)
	}
	return nil
}

// benchJPEG is a side × side JPEG with a gradient, the kind of photo a
// phone uploads.
func benchJPEG(side int) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	for y := range side {
		for x := range side {
			img.Set(x, y, color.RGBA{R: uint8(x * 255 / side), G: uint8(y * 255 / side), B: uint8((x + y) % 256), A: 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		return nil, fmt.Errorf("encode bench image: %w", err)
	}
	return b.Bytes(), nil
}
