package config

import (
	"fmt"
	"strings"
	"time"
)

// Webhooks tunes webhook delivery.
type Webhooks struct {
	// AllowPrivate lets deliveries reach loopback, private and link-local
	// addresses (USERD_WEBHOOK_ALLOW_PRIVATE=1; dev and tests).
	AllowPrivate bool
	// Timeout bounds one delivery attempt (USERD_WEBHOOK_TIMEOUT); 0: the
	// default, 10 s.
	Timeout time.Duration
	// Schedule is the wait before each retry (USERD_WEBHOOK_RETRY_SCHEDULE,
	// durations separated by commas); nil: the default, about 3 days.
	Schedule []time.Duration
}

// loadWebhooks reads USERD_WEBHOOK_ALLOW_PRIVATE, USERD_WEBHOOK_TIMEOUT and
// USERD_WEBHOOK_RETRY_SCHEDULE.
func loadWebhooks(get func(key, def string) string, errs []error) (Webhooks, []error) {
	var w Webhooks
	switch v := get("USERD_WEBHOOK_ALLOW_PRIVATE", "0"); v {
	case "1", "true":
		w.AllowPrivate = true
	case "0", "false":
	default:
		errs = append(errs, fmt.Errorf("USERD_WEBHOOK_ALLOW_PRIVATE: got %q, want 1 or 0", v))
	}
	if v := get("USERD_WEBHOOK_TIMEOUT", ""); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > time.Minute {
			errs = append(errs, fmt.Errorf("USERD_WEBHOOK_TIMEOUT: got %q, want a positive duration up to 1m such as 10s", v))
		}
		w.Timeout = d
	}
	if v := get("USERD_WEBHOOK_RETRY_SCHEDULE", ""); v != "" {
		for _, f := range strings.Split(v, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(f))
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Errorf("USERD_WEBHOOK_RETRY_SCHEDULE: got %q, want positive durations separated by commas such as 5s,30s,2m", v))
				break
			}
			w.Schedule = append(w.Schedule, d)
		}
	}
	return w, errs
}
