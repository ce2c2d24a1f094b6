package service_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/userd/userd/password"
	"github.com/userd/userd/pgtest"
	"github.com/userd/userd/service"
)

// BenchmarkLogin measures password logins through the service against a
// real database, in parallel over 16 accounts, with the production
// argon2id parameters (password.DefaultParams): argon2id dominates.
//
//	go test ./service -run '^$' -bench Login -benchtime 10s
func BenchmarkLogin(b *testing.B) {
	ctx := context.Background()
	a := newAccounts(b, service.NewDB(pgtest.NewPool(b)), password.DefaultParams)
	const accounts = 16
	for i := range accounts {
		register(b, a, fmt.Sprintf("bench_%d", i))
	}
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			name := fmt.Sprintf("bench_%d", next.Add(1)%accounts)
			if _, err := a.Login(ctx, name, testPassword, service.Client{UserAgent: "bench"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}

// BenchmarkRefresh measures refresh-token rotation (lock the session,
// rotate, insert, slide the expiry, sign an ES256 access token) against a
// real database, each goroutine refreshing its own session.
//
//	go test ./service -run '^$' -bench Refresh -benchtime 10s
func BenchmarkRefresh(b *testing.B) {
	ctx := context.Background()
	a := newAccounts(b, service.NewDB(pgtest.NewPool(b)), cheapParams)
	register(b, a, "refresher")
	sessions := make(chan string, 256)
	for range cap(sessions) {
		in, err := a.Login(ctx, "refresher", testPassword, service.Client{})
		if err != nil {
			b.Fatal(err)
		}
		sessions <- in.Tokens.RefreshToken
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		token := <-sessions
		for pb.Next() {
			t, err := a.Refresh(ctx, token, service.Client{UserAgent: "bench"})
			if err != nil {
				b.Error(err)
				return
			}
			token = t.RefreshToken
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
}
