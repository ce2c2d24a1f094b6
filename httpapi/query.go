package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// maxNamed bounds how many unknown parameter names a problem repeats, and
// maxNameLen how much of each.
const (
	maxNamed   = 10
	maxNameLen = 64
)

func invalidQuery(detail string) *apiError {
	return &apiError{http.StatusBadRequest, "invalid_query", detail}
}

// query returns r's query parameters when every one is among allowed and
// given at most once. Otherwise it is 400 invalid_query naming the unknown
// (or repeated) ones and the ones the route takes, so that a misspelled
// filter is an error, not an unfiltered answer. Every GET route of the API
// reads its query through query, also those that take none. A request
// without a query has nil Values (read-only, as every caller uses them).
func query(r *http.Request, allowed ...string) (url.Values, error) {
	if r.URL.RawQuery == "" {
		return nil, nil
	}
	v, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, invalidQuery("the query string is malformed")
	}
	var unknown, repeated []string
	for name, values := range v {
		switch {
		case !slices.Contains(allowed, name):
			unknown = append(unknown, name)
		case len(values) > 1:
			repeated = append(repeated, name)
		}
	}
	takes := "takes no query parameters"
	if len(allowed) > 0 {
		takes = "takes " + strings.Join(allowed, ", ")
	}
	switch {
	case len(unknown) > 0:
		return nil, invalidQuery(fmt.Sprintf("unknown query parameter %s: this route %s", names(unknown), takes))
	case len(repeated) > 0:
		return nil, invalidQuery(fmt.Sprintf("query parameter %s given more than once", names(repeated)))
	}
	return v, nil
}

// names lists parameter names for a message: sorted, quoted, bounded.
func names(ns []string) string {
	slices.Sort(ns)
	more := ""
	if len(ns) > maxNamed {
		ns, more = ns[:maxNamed], fmt.Sprintf(" and %d more", len(ns)-maxNamed)
	}
	quoted := make([]string, len(ns))
	for i, n := range ns {
		if len(n) > maxNameLen {
			n = n[:maxNameLen] + "…"
		}
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(quoted, ", ") + more
}
