package httpapi_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/router"
	"github.com/pb33f/libopenapi-validator/schema_validation"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"

	"github.com/userd/userd/httpapi"
)

// Every request a test of this package sends, and every answer, goes
// through validated: the exchange is checked against openapi.json by
// libopenapi-validator, and what the document does not allow fails the
// test that made the request.
//
// What is checked:
//   - The response, always: its status is documented for the operation, its
//     Content-Type is one the document lists for that status, its body
//     matches the schema (response schemas forbid undocumented fields), its
//     documented headers are present and match, and a status documented
//     without content has an empty body. Every response carries
//     X-Request-Id and X-Content-Type-Options: nosniff, as info.description
//     promises.
//   - The request, only when the server accepted it (a status below 400).
//     Tests send malformed requests on purpose (bad JSON, a wrong type,
//     unknown fields, a missing token) to see them refused; a refused request
//     tells nothing about the document, but an accepted one must be a request
//     the document allows, or the document is narrower than the server.
//   - A path no operation documents must be answered 404 not_found, and a
//     documented path asked with another method 405 method_not_allowed whose
//     Allow lists exactly the documented methods; both as problem+json.
//
// The response is buffered and checked before the client sees any of it,
// so a fault is reported while the test that sent the request still waits
// for its answer.

// contract is openapi.json compiled for validation.
type contract struct {
	v       validator.Validator
	router  router.Router
	model   *v3.Document
	schemas schema_validation.SchemaValidator
	problem *base.Schema
}

// loadContract compiles the document once per test binary: compiling it
// for each of the hundreds of servers the tests start would cost more than
// the tests. The compiled validator is safe for concurrent use.
var loadContract = sync.OnceValues(func() (*contract, error) {
	doc, err := libopenapi.NewDocument(httpapi.OpenAPIDocument())
	if err != nil {
		return nil, fmt.Errorf("parse openapi.json: %w", err)
	}
	m, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("build openapi.json: %w", err)
	}
	opts := []config.Option{config.WithFormatAssertions()}
	c := &contract{
		v:       validator.NewValidatorFromV3Model(&m.Model, opts...),
		router:  router.NewRouter(&m.Model, router.WithPathOnlyMatching()),
		model:   &m.Model,
		schemas: schema_validation.NewSchemaValidator(opts...),
	}
	c.v.SetDocument(doc) // for ValidateDocument
	if p, ok := m.Model.Components.Schemas.Get("Problem"); ok {
		c.problem = p.Schema()
	}
	if c.problem == nil {
		return nil, errors.New("openapi.json: no Problem schema")
	}
	return c, nil
})

// validated returns h with every exchange it serves checked against
// openapi.json; each fault is an error of t.
func validated(t testing.TB, h http.Handler) http.Handler {
	t.Helper()
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := &bytes.Buffer{}
		orig := r.Body
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.TeeReader(orig, body), orig}
		rec := &bufferedResponse{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		if rec.status < 400 {
			// What the handler left unread is part of the request.
			_, _ = io.Copy(body, orig)
		}
		for _, fault := range c.check(r, body.Bytes(), rec) {
			t.Errorf("openapi.json: %s %s → %d: %s", r.Method, r.URL.RequestURI(), rec.status, fault)
		}
		maps.Copy(w.Header(), rec.header)
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
	})
}

// bufferedResponse holds a response until it has been checked.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// Flush is a no-op: the response goes out whole once checked.
func (b *bufferedResponse) Flush() {}

// check returns how the exchange breaks the document, one line a fault.
func (c *contract) check(r *http.Request, reqBody []byte, rec *bufferedResponse) []string {
	res := &http.Response{StatusCode: rec.status, Header: rec.header.Clone(), Body: io.NopCloser(bytes.NewReader(rec.body.Bytes())), Request: r}
	if res.Header.Get("Content-Type") == "" && rec.body.Len() > 0 {
		// As net/http does before the response leaves.
		res.Header.Set("Content-Type", http.DetectContentType(rec.body.Bytes()))
	}
	var faults []string
	if res.Header.Get("X-Request-Id") == "" {
		faults = append(faults, "no X-Request-Id header")
	}
	if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		faults = append(faults, fmt.Sprintf("got X-Content-Type-Options %q, want nosniff", got))
	}

	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" && rec.status == http.StatusNoContent {
		// A CORS preflight, answered before any route when
		// USERD_CORS_ORIGINS is set (info.description); without it, the
		// 405 of any other undocumented method.
		if rec.body.Len() > 0 {
			faults = append(faults, fmt.Sprintf("CORS preflight: got body %q, want none", truncate(rec.body.Bytes())))
		}
		return faults
	}
	route, err := c.router.FindRoute(r)
	switch {
	case errors.Is(err, router.ErrMethodNotAllowed) && route != nil:
		return append(faults, c.unmatched(res, http.StatusMethodNotAllowed, "method_not_allowed", allowOf(route.PathItem))...)
	case err != nil || route == nil:
		return append(faults, c.unmatched(res, http.StatusNotFound, "not_found", "")...)
	}
	key := r.Method + " " + route.Path

	if r.Method != http.MethodHead {
		if _, errs := c.v.ValidateHttpResponse(r, res); len(errs) > 0 {
			faults = append(faults, describe(errs)...)
		}
	}
	if documented := responseOf(route.Operation, rec.status); documented != nil && orderedmap.Len(documented.Content) == 0 && rec.body.Len() > 0 {
		faults = append(faults, fmt.Sprintf("%s %d: got body %q, documented none", key, rec.status, truncate(rec.body.Bytes())))
	}
	if rec.status < 400 {
		req := r.Clone(r.Context())
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		if _, errs := c.v.ValidateHttpRequestSync(req); len(errs) > 0 {
			for _, e := range describe(errs) {
				faults = append(faults, "accepted a request the document does not allow: "+e)
			}
		}
	}
	return faults
}

// unmatched checks the answer to a request no operation documents: status
// and code, an Allow header of allow (none when empty), a problem body.
func (c *contract) unmatched(res *http.Response, status int, code, allow string) []string {
	var faults []string
	if res.StatusCode != status {
		faults = append(faults, fmt.Sprintf("no documented operation: got status %d, want %d %s", res.StatusCode, status, code))
	}
	if got := res.Header.Get("Allow"); got != allow {
		faults = append(faults, fmt.Sprintf("got Allow %q, want %q (the documented methods)", got, allow))
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != "application/problem+json" {
		return append(faults, fmt.Sprintf("got Content-Type %q, want application/problem+json", mt))
	}
	b, _ := io.ReadAll(res.Body)
	if _, errs := c.schemas.ValidateSchemaBytes(c.problem, b); len(errs) > 0 {
		faults = append(faults, describe(errs)...)
	}
	if !bytes.Contains(b, []byte(`"code":"`+code+`"`)) {
		faults = append(faults, fmt.Sprintf("got problem %s, want code %s", truncate(b), code))
	}
	return faults
}

// allowOf is the Allow header the server sends for a path of the
// document: the methods it documents, in the server's order.
func allowOf(item *v3.PathItem) string {
	ops := map[string]*v3.Operation{http.MethodGet: item.Get, http.MethodPost: item.Post, http.MethodPut: item.Put, http.MethodPatch: item.Patch, http.MethodDelete: item.Delete}
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if ops[m] != nil {
			allow = append(allow, m)
		}
	}
	return strings.Join(allow, ", ")
}

// responseOf is the response op documents for status; nil when none.
func responseOf(op *v3.Operation, status int) *v3.Response {
	if op == nil || op.Responses == nil {
		return nil
	}
	if res, ok := op.Responses.Codes.Get(strconv.Itoa(status)); ok {
		return res
	}
	return op.Responses.Default
}

// describe renders the library's errors, one line each, with the schema
// failures that explain them.
func describe(errs []*liberrors.ValidationError) []string {
	var out []string
	for _, e := range errs {
		line := e.Message
		if e.Reason != "" && e.Reason != e.Message {
			line += ": " + e.Reason
		}
		for _, s := range e.SchemaValidationErrors {
			line += fmt.Sprintf("; at %q: %s", s.InstancePath, s.Reason)
		}
		out = append(out, line)
	}
	return out
}

// truncate shortens a body for a message.
func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// faultsOf records the errors validated reports, in place of a test.
type faultsOf struct {
	testing.TB
	mu     sync.Mutex
	faults []string
}

func (f *faultsOf) Helper() {}

func (f *faultsOf) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, fmt.Sprintf(format, args...))
}

// TestContractCatches: the middleware fails an exchange the document does
// not allow (an undocumented status, field, content type, header or body;
// an accepted request outside the document; a wrong answer to an
// undocumented path or method) and passes one it allows.
func TestContractCatches(t *testing.T) {
	t.Parallel()
	const problem = `{"type":"about:blank","title":"%s","status":%d,"code":"%s"}`
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		header                   []string // name, value, ...
		answer                   string
		want                     string // in the fault; "" for none
	}{
		{"documented", "GET", "/healthz", "", 200, []string{"Content-Type", "application/json"}, `{"status":"ok"}`, ""},
		{"undocumented field", "GET", "/healthz", "", 200, []string{"Content-Type", "application/json"}, `{"status":"ok","uptime":3}`, "uptime"},
		{"undocumented status", "GET", "/healthz", "", 418, []string{"Content-Type", "application/json"}, `{"status":"ok"}`, "418"},
		{"undocumented content type", "GET", "/healthz", "", 200, []string{"Content-Type", "text/plain"}, `ok`, "text/plain"},
		{"sniffed content type", "GET", "/healthz", "", 200, nil, `{"status":"ok"}`, "text/plain"},
		{"no nosniff", "GET", "/healthz", "", 200, []string{"Content-Type", "application/json", "X-Content-Type-Options", ""}, `{"status":"ok"}`, "nosniff"},
		{"body on 204", "DELETE", "/api/v1/users/me/location", "", 204, nil, `{}`, "documented none"},
		{"missing required header", "POST", "/api/v1/auth/login", `{"identifier":"a","password":"b"}`, 401, []string{"Content-Type", "application/problem+json"}, fmt.Sprintf(problem, "Unauthorized", 401, "invalid_credentials"), "WWW-Authenticate"},
		{"refused bad request", "POST", "/api/v1/auth/logout", `{"refresh_token":"x","extra":1}`, 400, []string{"Content-Type", "application/problem+json"}, fmt.Sprintf(problem, "Bad Request", 400, "invalid_json"), ""},
		{"accepted bad request", "POST", "/api/v1/auth/logout", `{"refresh_token":"x","extra":1}`, 204, nil, ``, "accepted a request"},
		{"unknown path", "GET", "/api/v1/nothing", "", 404, []string{"Content-Type", "application/problem+json"}, fmt.Sprintf(problem, "Not Found", 404, "not_found"), ""},
		{"unknown path served", "GET", "/api/v1/nothing", "", 200, []string{"Content-Type", "application/json"}, `{}`, "want 404"},
		{"undocumented method", "POST", "/api/v1/users/me", "", 405, []string{"Content-Type", "application/problem+json", "Allow", "GET, PATCH, DELETE"}, fmt.Sprintf(problem, "Method Not Allowed", 405, "method_not_allowed"), ""},
		{"wrong Allow", "POST", "/api/v1/users/me", "", 405, []string{"Content-Type", "application/problem+json", "Allow", "GET"}, fmt.Sprintf(problem, "Method Not Allowed", 405, "method_not_allowed"), "Allow"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := &faultsOf{TB: t}
			h := validated(f, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Request-Id", "test")
				w.Header().Set("X-Content-Type-Options", "nosniff")
				for i := 0; i+1 < len(c.header); i += 2 {
					w.Header().Set(c.header[i], c.header[i+1])
				}
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, c.answer)
			}))
			req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
			if c.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != c.status || rec.Body.String() != c.answer {
				t.Errorf("passed on %d %q, want the handler's %d %q", rec.Code, rec.Body, c.status, c.answer)
			}
			all := strings.Join(f.faults, "\n")
			switch {
			case c.want == "" && len(f.faults) > 0:
				t.Errorf("got faults, want none:\n%s", all)
			case c.want != "" && !strings.Contains(all, c.want):
				t.Errorf("got faults %q, want one naming %q", all, c.want)
			}
		})
	}
}
