package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// The webhook variables: private addresses off by default, the timeout and
// the retry schedule read as durations, and bad values refused by name.
func TestLoadWebhooks(t *testing.T) {
	t.Parallel()
	c, err := Load(env(nil))
	if err != nil || c.Webhooks.AllowPrivate || c.Webhooks.Timeout != 0 || c.Webhooks.Schedule != nil {
		t.Fatalf("unset: got %+v (%v), want defaults", c.Webhooks, err)
	}
	c, err = Load(env(map[string]string{
		"USERD_WEBHOOK_ALLOW_PRIVATE": "1", "USERD_WEBHOOK_TIMEOUT": "3s", "USERD_WEBHOOK_RETRY_SCHEDULE": "5s, 30s,2m",
	}))
	if err != nil || !c.Webhooks.AllowPrivate || c.Webhooks.Timeout != 3*time.Second ||
		!slices.Equal(c.Webhooks.Schedule, []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute}) {
		t.Fatalf("set: got %+v (%v), want private allowed, 3s, [5s 30s 2m]", c.Webhooks, err)
	}
	for k, v := range map[string]string{
		"USERD_WEBHOOK_ALLOW_PRIVATE":  "yes",
		"USERD_WEBHOOK_TIMEOUT":        "-1s",
		"USERD_WEBHOOK_RETRY_SCHEDULE": "5s,soon",
	} {
		if _, err := Load(env(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: got %v, want an error naming it", k, v, err)
		}
	}
}
