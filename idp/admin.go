package idp

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// AdminClient calls a Supabase-style admin API.
type AdminClient struct {
	BaseURL string // e.g. https://<ref>.supabase.co/auth/v1
	Key     string // service-role key
	HTTP    *http.Client
}

// NewAdminClient returns a client with a 10 s timeout.
func NewAdminClient(baseURL, key string) *AdminClient {
	return &AdminClient{BaseURL: baseURL, Key: key, HTTP: &http.Client{Timeout: 10 * time.Second}}
}

// DeleteUser hard-deletes the provider's user: DELETE {base}/admin/users/{sub}
// with the key as bearer token and apikey header. A user the provider does
// not know (404) counts as deleted.
func (c *AdminClient) DeleteUser(ctx context.Context, subject string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.BaseURL+"/admin/users/"+url.PathEscape(subject), nil)
	if err != nil {
		return fmt.Errorf("idp admin: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Key)
	req.Header.Set("apikey", c.Key)
	res, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("idp admin: delete user: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode/100 == 2 || res.StatusCode == http.StatusNotFound {
		return nil
	}
	return fmt.Errorf("idp admin: delete user: status %d", res.StatusCode)
}
