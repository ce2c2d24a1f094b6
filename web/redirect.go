package web

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Redirects are the places a page may send the browser to after an action
// (the redirect_to parameter): a path on this site, or a URL matching one
// of USERD_REDIRECT_URLS. An entry without a path (https://app.example.com)
// allows any path of that exact origin; one with a path
// (https://app.example.com/done) allows that path and the paths under it.
// Scheme, host and port must match exactly. Anything else is ignored (the
// page goes to its default), never followed: userd is no open redirector.
type Redirects struct {
	allowed []*url.URL
}

// ParseRedirects checks the entries of USERD_REDIRECT_URLS: absolute http
// or https URLs without user info, query or fragment.
func ParseRedirects(entries []string) (Redirects, error) {
	var r Redirects
	var errs []error
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.Contains(e, `\`) || badPath(u) {
			errs = append(errs, fmt.Errorf("%q: want an absolute http or https URL without user info, query or fragment", e))
			continue
		}
		u.Host = strings.ToLower(u.Host)
		u.Path = strings.TrimSuffix(u.Path, "/")
		r.allowed = append(r.allowed, u)
	}
	return r, errors.Join(errs...)
}

// Origins are the origins of the allowed URLs (for the form-action of the
// Content-Security-Policy: browsers check a form's redirects against it).
func (r Redirects) Origins() []string {
	var out []string
	for _, u := range r.allowed {
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out
}

// badPath reports a path that could mean another path once a server or a
// browser decodes or normalizes it: dot segments, encoded dots, slashes or
// backslashes.
func badPath(u *url.URL) bool {
	raw := strings.ToLower(u.EscapedPath())
	if strings.Contains(raw, "%2e") || strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") || strings.Contains(raw, `\`) {
		return true
	}
	for seg := range strings.SplitSeq(u.Path, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// Check returns target as a place to redirect to, or "" when it is not
// allowed. A local target is a path of this site ("/account"), never a
// scheme-relative one ("//evil.example").
func (r Redirects) Check(target string) string {
	if target == "" || len(target) > 2048 {
		return ""
	}
	for _, c := range target {
		if c <= ' ' || c == 0x7f || c == '\\' {
			return ""
		}
	}
	u, err := url.Parse(target)
	if err != nil || u.Opaque != "" || u.User != nil || u.Fragment != "" || badPath(u) {
		return ""
	}
	if u.Scheme == "" && u.Host == "" {
		if !strings.HasPrefix(target, "/") || strings.HasPrefix(target, "//") {
			return ""
		}
		return u.RequestURI()
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return ""
	}
	host := strings.ToLower(u.Host)
	for _, a := range r.allowed {
		if a.Scheme != u.Scheme || a.Host != host {
			continue
		}
		if a.Path == "" || u.Path == a.Path || strings.HasPrefix(u.Path, a.Path+"/") {
			u.Host = host
			return u.String()
		}
	}
	return ""
}
