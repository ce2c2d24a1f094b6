package service

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/userd/userd/dbgen"
)

// DefaultWebhookSchedule is the wait before each retry of a failed
// delivery (each jittered by ±20 %): about 5 s, 30 s, 2 min, 10 min, 1 h,
// then every few hours, 70 hours (about 3 days) in all. When the last retry
// fails, the delivery fails for good and its endpoint is disabled.
var DefaultWebhookSchedule = []time.Duration{
	5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, time.Hour,
	3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 12 * time.Hour, 12 * time.Hour, 12 * time.Hour, 12 * time.Hour,
}

// WebhookConfig tunes webhook delivery; zero fields take the defaults.
type WebhookConfig struct {
	// Schedule is the wait before retry n (Schedule[n-1]); after
	// len(Schedule) retries the delivery fails. Default
	// DefaultWebhookSchedule.
	Schedule []time.Duration
	// Timeout bounds one POST, from dialing to the end of the answer's
	// headers. Default 10 s.
	Timeout time.Duration
	// Workers is how many deliveries one instance makes at once. Default 8.
	Workers int
	// Poll is how often an idle worker looks for due retries (new
	// deliveries wake it at once). Default 1 s.
	Poll time.Duration
	// RotationOverlap is how long a replaced secret keeps signing beside
	// the new one. Default 24 h.
	RotationOverlap time.Duration
	// AllowPrivate lets deliveries go to loopback, private and link-local
	// addresses (USERD_WEBHOOK_ALLOW_PRIVATE=1: dev and tests).
	AllowPrivate bool
}

func (c WebhookConfig) withDefaults() WebhookConfig {
	if len(c.Schedule) == 0 {
		c.Schedule = DefaultWebhookSchedule
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Workers <= 0 {
		c.Workers = 8
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.RotationOverlap <= 0 {
		c.RotationOverlap = 24 * time.Hour
	}
	return c
}

// lease is how long a claimed delivery is left to its worker before any
// instance may claim it again: the POST's timeout and time to record it.
func (c WebhookConfig) lease() time.Duration { return c.Timeout + 5*time.Second }

// Webhooks manages webhook endpoints and delivers their events. Any number
// of instances may deliver: each delivery is leased with FOR UPDATE SKIP
// LOCKED, POSTed outside any transaction and recorded while the lease is
// held; a delivery whose worker died is tried again when its lease ends.
// Delivery is at least once; the webhook-id of an event never changes.
type Webhooks struct {
	db      *DB
	cfg     WebhookConfig
	log     *slog.Logger
	client  *http.Client
	wake    chan struct{}
	stats   [outcomeCount]atomic.Int64
	cursors cursorCodec
}

// The outcomes of delivery attempts, as counted for metrics.
const (
	outcomeDelivered = iota // 2xx
	outcomeRetry            // failed, to be tried again
	outcomeFailed           // failed for good: the endpoint is disabled
	outcomeRefused          // the address is not allowed (SSRF); retried like a failure
	outcomeCount
)

// WebhookOutcomes names the outcomes WebhookStats counts.
var WebhookOutcomes = [outcomeCount]string{"delivered", "retry", "failed", "refused"}

// NewWebhooks returns the webhook service; cursorKey signs the cursors of
// its lists.
func NewWebhooks(db *DB, cfg WebhookConfig, cursorKey []byte, log *slog.Logger) *Webhooks {
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.withDefaults()
	return &Webhooks{db: db, cfg: cfg, log: log, client: webhookClient(cfg), wake: make(chan struct{}, 1), cursors: cursorCodec{key: cursorKey}}
}

// errPrivateAddress is a delivery refused because its address is loopback,
// private, link-local or otherwise not public.
var errPrivateAddress = errors.New("address not allowed (loopback, private, link-local or metadata); USERD_WEBHOOK_ALLOW_PRIVATE=1 allows it")

// publicAddress reports whether ip is a public unicast address.
func publicAddress(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && ip.IsGlobalUnicast() && !ip.IsPrivate() && !ip.IsLoopback() &&
		!ip.IsLinkLocalUnicast() && !sharedAddressSpace.Contains(ip) && !nat64.Contains(ip)
}

var (
	sharedAddressSpace = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT (RFC 6598)
	nat64              = netip.MustParsePrefix("64:ff9b::/96")  // reaches any IPv4 address
)

// webhookClient is the HTTP client of deliveries: no proxy, no redirects
// followed, and, unless private addresses are allowed, a check at dial
// time of the address DNS gave, so a name cannot resolve to an internal
// address between a check and the connection.
func webhookClient(cfg WebhookConfig) *http.Client {
	d := &net.Dialer{Timeout: cfg.Timeout}
	if !cfg.AllowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !publicAddress(ap.Addr()) {
				return fmt.Errorf("dial %s: %w", address, errPrivateAddress)
			}
			return nil
		}
	}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:           d.DialContext,
			TLSHandshakeTimeout:   cfg.Timeout,
			ResponseHeaderTimeout: cfg.Timeout,
			MaxIdleConnsPerHost:   cfg.Workers,
			IdleConnTimeout:       time.Minute,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       cfg.Timeout,
	}
}

// WebhookStats counts this instance's delivery attempts by outcome (in
// the order of WebhookOutcomes) and reads the queue: deliveries not yet
// made and the age of the oldest of them.
type WebhookStats struct {
	Attempts     [outcomeCount]int64
	Pending      int64
	OldestAge    time.Duration
	QueueReadErr error // the queue could not be read; Pending and OldestAge are 0
}

// Stats returns the delivery counts and reads the queue.
func (w *Webhooks) Stats(ctx context.Context) WebhookStats {
	var s WebhookStats
	for i := range s.Attempts {
		s.Attempts[i] = w.stats[i].Load()
	}
	r, err := w.db.q.WebhookQueueStats(ctx)
	if err != nil {
		s.QueueReadErr = err
		return s
	}
	s.Pending = r.Pending
	s.OldestAge = time.Duration(max(r.OldestAgeSeconds, 0) * float64(time.Second))
	return s
}

// webhookChannel is where the trigger on webhook_deliveries announces new
// deliveries at commit.
const webhookChannel = "userd_webhooks"

// Run delivers until ctx ends, with cfg.Workers deliveries at once. Workers
// wait for new deliveries on a listening connection and look for due
// retries every cfg.Poll. When ctx ends, a delivery in flight is cut off
// and its lease given back.
func (w *Webhooks) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.listen(ctx) }()
	for range w.cfg.Workers {
		wg.Add(1)
		go func() { defer wg.Done(); w.work(ctx) }()
	}
	wg.Wait()
}

func (w *Webhooks) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// listen pokes a worker for every notification on webhookChannel,
// reconnecting with backoff; while it is down, workers still poll.
func (w *Webhooks) listen(ctx context.Context) {
	cfg := w.db.Pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "userd-webhooks"
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := func() error {
			conn, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				return err
			}
			defer conn.Close(context.WithoutCancel(ctx))
			if _, err := conn.Exec(ctx, "LISTEN "+webhookChannel); err != nil {
				return err
			}
			backoff = 100 * time.Millisecond
			w.poke() // deliveries made while not listening
			for {
				if _, err := conn.WaitForNotification(ctx); err != nil {
					return err
				}
				w.poke()
			}
		}()
		if ctx.Err() != nil {
			return
		}
		w.log.WarnContext(ctx, "webhooks: listening for new deliveries failed; polling meanwhile", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (w *Webhooks) work(ctx context.Context) {
	t := time.NewTicker(w.cfg.Poll)
	defer t.Stop()
	for ctx.Err() == nil {
		worked, err := w.DeliverOne(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.WarnContext(ctx, "webhooks", "err", err)
		}
		if worked && err == nil {
			w.poke() // there may be more: another worker looks too
			continue
		}
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-t.C:
		}
	}
}

// DeliverOne claims one due delivery, POSTs it and records the outcome. It
// reports whether it found one.
func (w *Webhooks) DeliverOne(ctx context.Context) (bool, error) {
	rows, err := w.db.q.WebhookDeliveryClaim(ctx, dbgen.WebhookDeliveryClaimParams{LeaseSeconds: w.cfg.lease().Seconds(), Batch: 1})
	if err != nil || len(rows) == 0 {
		return false, err
	}
	return true, w.deliver(ctx, rows[0])
}

// webhookRecordTimeout bounds recording an outcome after a shutdown.
const webhookRecordTimeout = 5 * time.Second

// maxErrorText bounds the error (or answer) kept in the delivery log.
const maxErrorText = 500

func (w *Webhooks) deliver(ctx context.Context, d dbgen.WebhookDeliveryClaimRow) error {
	at := time.Now()
	status, err := w.post(ctx, d, at)
	stopped := ctx.Err() != nil
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), webhookRecordTimeout)
	defer cancel()
	var st *int32
	if status != 0 {
		s := int32(status)
		st = &s
	}
	switch {
	case err == nil:
		w.stats[outcomeDelivered].Add(1)
		return errOnly(w.db.q.WebhookDeliveryMarkDone(ctx, dbgen.WebhookDeliveryMarkDoneParams{ID: d.ID, Attempts: d.Attempts, AttemptedAt: &at, Status: st}))
	case stopped:
		// Cut off by a shutdown: given back at once, for any instance.
		return errOnly(w.db.q.WebhookDeliveryMarkRetry(ctx, dbgen.WebhookDeliveryMarkRetryParams{
			ID: d.ID, Attempts: d.Attempts, AttemptedAt: &at, Status: st, LastError: strPtr(clip("stopped: " + err.Error())), RunAfter: time.Now(),
		}))
	}
	if errors.Is(err, errPrivateAddress) {
		w.stats[outcomeRefused].Add(1)
	}
	if int(d.Attempts) > len(w.cfg.Schedule) {
		w.stats[outcomeFailed].Add(1)
		return w.giveUp(ctx, d, at, st, err)
	}
	if !errors.Is(err, errPrivateAddress) {
		w.stats[outcomeRetry].Add(1)
	}
	wait := jitter(w.cfg.Schedule[d.Attempts-1])
	w.log.InfoContext(ctx, "webhook delivery failed; will retry", "delivery", d.ID, "type", d.Type, "attempt", d.Attempts, "retry_in", wait.Round(time.Millisecond), "err", err)
	return errOnly(w.db.q.WebhookDeliveryMarkRetry(ctx, dbgen.WebhookDeliveryMarkRetryParams{
		ID: d.ID, Attempts: d.Attempts, AttemptedAt: &at, Status: st, LastError: strPtr(clip(err.Error())), RunAfter: time.Now().Add(wait),
	}))
}

// giveUp fails a delivery whose retries are spent and disables its
// endpoint, with a notice in the audit log; the endpoint's other pending
// deliveries fail with it.
func (w *Webhooks) giveUp(ctx context.Context, d dbgen.WebhookDeliveryClaimRow, at time.Time, st *int32, cause error) error {
	w.log.ErrorContext(ctx, "webhook delivery failed for good; disabling its endpoint", "delivery", d.ID, "type", d.Type, "attempts", d.Attempts, "err", cause)
	return inTx(ctx, w.db, func(q *dbgen.Queries) error {
		eps, err := q.WebhookDeliveryMarkFailed(ctx, dbgen.WebhookDeliveryMarkFailedParams{
			ID: d.ID, Attempts: d.Attempts, AttemptedAt: &at, Status: st, LastError: strPtr(clip(cause.Error())),
		})
		if err != nil || len(eps) == 0 {
			return err // an error, or the lease was lost: someone else records
		}
		reason := fmt.Sprintf("delivery %d failed %d times", d.ID, d.Attempts)
		n, err := q.WebhookEndpointDisable(ctx, dbgen.WebhookEndpointDisableParams{ID: eps[0], Reason: &reason})
		if err != nil || n == 0 {
			return err
		}
		if _, err := q.WebhookDeliveryFailPending(ctx, eps[0]); err != nil {
			return err
		}
		return audit(ctx, q, nil, nil, "webhook.endpoint_disabled", map[string]any{
			"endpoint_id": eps[0], "delivery_id": d.ID, "attempts": d.Attempts, "last_error": clip(cause.Error()),
		})
	})
}

// post sends one attempt of d, signed at time at. It returns the status
// the endpoint answered (0: none) and, unless that is 2xx, why it failed.
func (w *Webhooks) post(ctx context.Context, d dbgen.WebhookDeliveryClaimRow, at time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.Url, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, err
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	sigs := []string{}
	secrets := []string{d.Secret}
	if d.PreviousSecret != nil && d.PreviousUntil != nil && at.Before(*d.PreviousUntil) {
		secrets = append(secrets, *d.PreviousSecret)
	}
	for _, s := range secrets {
		sig, err := signWebhook(s, d.MessageID, ts, d.Payload)
		if err != nil {
			return 0, err
		}
		sigs = append(sigs, sig)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "userd-webhooks")
	req.Header.Set("webhook-id", d.MessageID)
	req.Header.Set("webhook-timestamp", ts)
	req.Header.Set("webhook-signature", strings.Join(sigs, " "))
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("answered %s: %s", resp.Status, strings.TrimSpace(string(answer)))
	}
	return resp.StatusCode, nil
}

// signWebhook is the Standard Webhooks signature of a message: "v1," and
// the base64 of HMAC-SHA256 over "id.timestamp.body", keyed with the
// secret's bytes (the base64 after whsec_).
func signWebhook(secret, msgID, ts string, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msgID + "." + ts + "."))
	h.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// jitter is d give or take 20 %, so instances do not retry in step.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

func clip(s string) string {
	if len(s) > maxErrorText {
		return s[:maxErrorText]
	}
	return s
}
