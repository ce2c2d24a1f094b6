package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/userd/userd/httpapi"
)

// The OpenAPI document (openapi.json) is written by hand. These tests keep
// it honest: it is valid OpenAPI 3.1 and well formed, it documents exactly
// the routes that are registered, and every operation is exercised live;
// every exchange of every test of the package is checked against it by
// libopenapi-validator (contract_test.go).

// openAPI is the parsed document.
type openAPI struct{ doc map[string]any }

// operation is one method of one path of the document.
type operation struct {
	key    string // "METHOD /path", the form of a route pattern
	method string
	path   string
	node   map[string]any
}

// obj is v as a JSON object; nil when it is none.
func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// fetchOpenAPI serves GET /openapi.json from a server with no services
// behind it (the route needs none), checks the headers, and parses it.
func fetchOpenAPI(t testing.TB) (*httpapi.Server, *openAPI) {
	t.Helper()
	s := httpapi.New(httpapi.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	rec := httptest.NewRecorder()
	validated(t, s).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi.json: got status %d, want 200", rec.Code)
	}
	if got := rec.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("GET /openapi.json: got Content-Type %q, want application/json", got)
	}
	if got := rec.Header().Get("Cache-Control"); got != "public, max-age=300" {
		t.Errorf("GET /openapi.json: got Cache-Control %q, want public, max-age=300", got)
	}
	var doc map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	return s, &openAPI{doc: doc}
}

// pointer returns what a local reference ("#/components/schemas/User")
// names; nil when nothing.
func (o *openAPI) pointer(ref string) any {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	var cur any = o.doc
	for _, tok := range strings.Split(rest, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m := obj(cur)
		if cur, ok = m[tok]; !ok {
			return nil
		}
	}
	return cur
}

// deref follows node's $ref, if it has one, to the object it names.
func (o *openAPI) deref(node map[string]any) map[string]any {
	for range 10 {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		node = obj(o.pointer(ref))
	}
	return nil
}

func (o *openAPI) schema(name string) map[string]any {
	return obj(o.pointer("#/components/schemas/" + name))
}

var methods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// operations lists every operation, sorted by path then method.
func (o *openAPI) operations() []operation {
	var ops []operation
	paths := obj(o.doc["paths"])
	for _, path := range slices.Sorted(maps.Keys(paths)) {
		for _, m := range methods {
			if node := obj(obj(paths[path])[m]); node != nil {
				method := strings.ToUpper(m)
				ops = append(ops, operation{key: method + " " + path, method: method, path: path, node: node})
			}
		}
	}
	return ops
}

// operation returns the operation of a route pattern; nil when the
// document has none.
func (o *openAPI) operation(key string) map[string]any {
	method, path, _ := strings.Cut(key, " ")
	return obj(obj(obj(o.doc["paths"])[path])[strings.ToLower(method)])
}

// params returns the operation's parameters, references resolved.
func (o *openAPI) params(op operation) []map[string]any {
	var out []map[string]any
	for _, p := range op.node["parameters"].([]any) {
		out = append(out, o.deref(obj(p)))
	}
	return out
}

// walk calls fn on every object in v, depth first.
func walk(v any, fn func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		fn(x)
		for _, k := range slices.Sorted(maps.Keys(x)) {
			walk(x[k], fn)
		}
	case []any:
		for _, e := range x {
			walk(e, fn)
		}
	}
}

var pathParam = regexp.MustCompile(`\{([^}]+)\}`)

// samplePath fills every path parameter with 1.
func samplePath(path string) string { return pathParam.ReplaceAllString(path, "1") }

func sortedKeys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

// specCodes are the error codes of docs/api.md, plus invalid_query (a query
// parameter the route does not take), conflict (a state conflict no other
// code names), method_not_allowed (405), internal_error (500) and
// overloaded (503: the password-hashing queue is full) and shutting_down
// (503 from /readyz during a graceful stop).
var specCodes = []string{
	"invalid_json", "invalid_cursor", "invalid_query", "validation_failed", "payload_too_large", "unsupported_media_type",
	"invalid_token", "invalid_credentials", "account_disabled", "forbidden", "blocked", "not_found",
	"email_taken", "phone_taken", "username_taken", "already_member", "seat_limit_reached", "ambiguous_phone",
	"last_admin", "rate_limited", "idp_unavailable", "db_unavailable",
	"conflict", "method_not_allowed", "internal_error", "overloaded", "shutting_down",
}

func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	_, o := fetchOpenAPI(t)
	if got := o.doc["openapi"]; got != "3.1.0" {
		t.Errorf("got openapi %v, want 3.1.0", got)
	}
	// Valid OpenAPI 3.1: the document against the specification's own
	// JSON Schema, by libopenapi-validator.
	c, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	if ok, errs := c.v.ValidateDocument(); !ok {
		for _, e := range describe(errs) {
			t.Errorf("openapi.json is not valid OpenAPI 3.1: %s", e)
		}
	}

	// Every $ref names a component that exists, and every component is used.
	used := map[string]bool{}
	walk(o.doc, func(m map[string]any) {
		ref, ok := m["$ref"].(string)
		if !ok {
			return
		}
		if !strings.HasPrefix(ref, "#/components/") || o.pointer(ref) == nil {
			t.Errorf("$ref %q: got no such component", ref)
		}
		used[ref] = true
	})
	components := obj(o.doc["components"])
	for _, kind := range sortedKeys(components) {
		if kind == "securitySchemes" {
			continue
		}
		for _, name := range sortedKeys(obj(components[kind])) {
			if ref := "#/components/" + kind + "/" + name; !used[ref] {
				t.Errorf("component %s is never referenced", ref)
			}
		}
	}

	if got, want := slices.Sorted(slices.Values(toStrings(o.schema("ErrorCode")["enum"]))), slices.Sorted(slices.Values(specCodes)); !slices.Equal(got, want) {
		t.Errorf("got ErrorCode enum %v, want %v", got, want)
	}

	ids := map[string]string{}
	openSeen := map[string]bool{} // schemas checked for additionalProperties
	schemes := obj(components["securitySchemes"])
	for _, op := range o.operations() {
		id, _ := op.node["operationId"].(string)
		if id == "" || ids[id] != "" {
			t.Errorf("%s: got operationId %q, want a unique one", op.key, id)
		}
		ids[id] = op.key
		if s, _ := op.node["summary"].(string); s == "" {
			t.Errorf("%s: no summary", op.key)
		}

		// Path parameters are exactly those of the path template.
		var inPath, declared []string
		for _, m := range pathParam.FindAllStringSubmatch(op.path, -1) {
			inPath = append(inPath, m[1])
		}
		if op.node["parameters"] != nil {
			for _, p := range o.params(op) {
				if p["in"] == "path" {
					declared = append(declared, p["name"].(string))
					if p["required"] != true {
						t.Errorf("%s: path parameter %v is not required", op.key, p["name"])
					}
				}
			}
		}
		if !slices.Equal(inPath, declared) {
			t.Errorf("%s: got path parameters %v, want %v", op.key, declared, inPath)
		}

		// Authenticated operations name a defined scheme and document 401.
		responses := obj(op.node["responses"])
		if sec, ok := op.node["security"].([]any); ok {
			for _, req := range sec {
				for name := range obj(req) {
					if schemes[name] == nil {
						t.Errorf("%s: security scheme %q is not defined", op.key, name)
					}
				}
			}
			if obj(responses["401"])["$ref"] != "#/components/responses/InvalidToken" {
				t.Errorf("%s: authenticated, but no 401 InvalidToken response", op.key)
			}
		}

		// What any route of a kind can answer, whether or not a test
		// provokes it: a token of a deactivated account (403), a body
		// that is malformed (400), too large (413) or of another type
		// (415), a query parameter the route does not take (400), and on
		// the API an internal error (500) or a database outage (503).
		var must []string
		if _, secured := op.node["security"]; secured {
			must = append(must, "403")
		}
		if op.node["requestBody"] != nil {
			must = append(must, "400", "413", "415")
		}
		if strings.HasPrefix(op.path, "/api/") {
			if op.method == http.MethodGet {
				must = append(must, "400")
			}
			must = append(must, "500", "503")
		}
		for _, code := range must {
			if responses[code] == nil {
				t.Errorf("%s: no %s response, which every such route can answer", op.key, code)
			}
		}

		// A success, and errors as problem documents.
		ok2xx := false
		for code, res := range responses {
			status, err := strconv.Atoi(code)
			if err != nil {
				t.Errorf("%s: response %q is not a status code", op.key, code)
				continue
			}
			ok2xx = ok2xx || status < 300
			content := obj(o.deref(obj(res))["content"])
			if status >= 400 && content["application/problem+json"] == nil && !o.oauthError(obj(obj(content["application/json"])["schema"])) {
				t.Errorf("%s: response %d is neither application/problem+json nor an RFC 6749 error", op.key, status)
			}
		}
		if !ok2xx {
			t.Errorf("%s: no success response", op.key)
		}

		// Request bodies refuse unknown fields, as decode does.
		for mt, media := range obj(obj(op.node["requestBody"])["content"]) {
			if !strings.HasSuffix(mt, "json") {
				continue // a multipart upload skips parts it does not use
			}
			s := o.deref(obj(obj(media)["schema"]))
			if s["properties"] != nil && s["additionalProperties"] != false {
				t.Errorf("%s: request body %s allows unknown fields; the server rejects them", op.key, mt)
			}
		}

		// Response objects say whether they take fields the document does
		// not name: false, or the schema of a documented map. So a field
		// the server adds without documenting it fails validation.
		for code, res := range responses {
			for mt, media := range obj(o.deref(obj(res))["content"]) {
				for _, at := range o.openObjects(obj(obj(media)["schema"]), "schema", openSeen) {
					t.Errorf("%s %s %s: %s is an object without additionalProperties", op.key, code, mt, at)
				}
			}
		}
	}
}

// openObjects returns where, in s and the schemas it references, an
// object schema leaves additionalProperties unsaid.
func (o *openAPI) openObjects(s map[string]any, at string, seen map[string]bool) []string {
	var out []string
	if ref, ok := s["$ref"].(string); ok {
		if seen[ref] {
			return nil
		}
		seen[ref] = true
		out = append(out, o.openObjects(obj(o.pointer(ref)), ref, seen)...)
	}
	isObject := s["type"] == "object"
	if types, ok := s["type"].([]any); ok {
		isObject = slices.Contains(types, any("object"))
	}
	if _, said := s["additionalProperties"]; isObject && !said {
		out = append(out, at)
	}
	for _, name := range sortedKeys(obj(s["properties"])) {
		out = append(out, o.openObjects(obj(obj(s["properties"])[name]), at+".properties."+name, seen)...)
	}
	for _, k := range []string{"items", "additionalProperties"} {
		if sub := obj(s[k]); sub != nil {
			out = append(out, o.openObjects(sub, at+"."+k, seen)...)
		}
	}
	for _, k := range []string{"allOf", "anyOf", "oneOf"} {
		for i, sub := range anys(s[k]) {
			out = append(out, o.openObjects(obj(sub), fmt.Sprintf("%s.%s[%d]", at, k, i), seen)...)
		}
	}
	return out
}

func anys(v any) []any {
	a, _ := v.([]any)
	return a
}

// oauthError reports whether s is the OAuthError schema or one built on it
// (allOf): the errors of the token endpoint, which OAuth clients parse.
func (o *openAPI) oauthError(s map[string]any) bool {
	const ref = "#/components/schemas/OAuthError"
	if s["$ref"] == ref {
		return true
	}
	return slices.ContainsFunc(anys(o.deref(s)["allOf"]), func(sub any) bool { return obj(sub)["$ref"] == ref })
}

func toStrings(v any) []string {
	var out []string
	for _, e := range v.([]any) {
		out = append(out, e.(string))
	}
	return out
}

func TestOpenAPICoversEveryRoute(t *testing.T) {
	t.Parallel()
	s, o := fetchOpenAPI(t)

	// Every documented operation is served by the route of that pattern
	// (GET /metrics too, which is registered on the mux directly).
	documented := map[string]bool{}
	for _, op := range o.operations() {
		documented[op.key] = true
		r := httptest.NewRequest(op.method, samplePath(op.path), nil)
		if got := httpapi.MatchedPattern(s, r); got != op.key {
			t.Errorf("documented %s: got it served by route %q", op.key, got)
		}
	}

	// Every registered route is documented; "/" is the catch-all 404.
	registered := httpapi.RegisteredPatterns(s)
	if len(registered) < 10 {
		t.Fatalf("got %d registered patterns, want them all", len(registered))
	}
	for _, p := range registered {
		if p == "/" {
			continue
		}
		if !documented[p] {
			t.Errorf("route %q is not in openapi.json", p)
		}
	}
}

func TestOpenAPIMatchesLiveResponses(t *testing.T) {
	t.Parallel()
	_, o := fetchOpenAPI(t)
	e := newEnv(t)
	// Each exchange is checked against the document by the server's
	// middleware (validated); check adds its status.
	check := func(key string, r response, want int) response {
		t.Helper()
		if r.status != want {
			t.Errorf("%s: got status %d (%s), want %d", key, r.status, r.body, want)
		}
		return r
	}
	at := func(format string, args ...any) string { return fmt.Sprintf(format, args...) }
	mergePatch := []string{"Content-Type", "application/merge-patch+json"}

	// Without a token, authenticated operations are 401 and the others
	// are not: the security of the document is the routes'.
	for _, op := range o.operations() {
		r := e.do(op.method, samplePath(op.path), "", nil)
		_, secured := op.node["security"]
		switch {
		case secured && (r.status != http.StatusUnauthorized || r.json(t)["code"] != "invalid_token"):
			t.Errorf("%s without a token: got %d (%s), want 401 invalid_token", op.key, r.status, r.body)
		case !secured && r.status == http.StatusUnauthorized:
			t.Errorf("%s without a token: got 401, but openapi.json says it needs none", op.key)
		}
	}

	// The private view has exactly the documented fields; a problem only
	// documented ones.
	idpTok, idpID := e.signIn("openapi-idp", nil)
	me := check("GET /api/v1/users/me", e.do("GET", "/api/v1/users/me", idpTok, nil), 200)
	if got, want := sortedKeys(me.json(t)), sortedKeys(obj(o.schema("User")["properties"])); !slices.Equal(got, want) {
		t.Errorf("GET /api/v1/users/me: got keys %v, want the User schema's %v", got, want)
	}
	problem := check("GET /api/v1/users/me", e.do("GET", "/api/v1/users/me", "bad-token", nil), 401)
	for k := range problem.json(t) {
		if _, ok := obj(o.schema("Problem")["properties"])[k]; !ok {
			t.Errorf("problem: got key %q, not in the Problem schema", k)
		}
	}

	// Meta.
	for _, key := range []string{"GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json", "GET /.well-known/jwks.json"} {
		_, path, _ := strings.Cut(key, " ")
		check(key, e.do("GET", path, "", nil), 200)
	}

	// Local accounts.
	const email = "openapi@example.com"
	const newPassword = "another battery staple"
	reg := check("POST /api/v1/auth/register", e.do("POST", "/api/v1/auth/register", "",
		map[string]any{"email": email, "username": "openapi", "password": testPassword, "first_name": "Open"}), 201)
	localID := userID(t, reg.json(t))
	regAccess, _ := tokens(reg.json(t))
	check("POST /api/v1/auth/register", e.do("POST", "/api/v1/auth/register", "", map[string]any{"email": email, "password": testPassword}), 409)
	check("POST /api/v1/auth/register", e.do("POST", "/api/v1/auth/register", "", map[string]any{"password": testPassword, "nickname": "x"}), 400)
	check("POST /api/v1/auth/register", e.do("POST", "/api/v1/auth/register", "", map[string]any{"username": "x", "password": "short"}), 422)
	check("POST /api/v1/auth/register", e.do("POST", "/api/v1/auth/register", "", "{}", "Content-Type", "text/plain"), 415)
	check("POST /api/v1/auth/register", e.do("POST", "/api/v1/auth/register", "", strings.Repeat(" ", httpapi.MaxBody+1)), 413)
	verify := tokenIn(t, e.mailsTo(email)[0], "/verify-email")
	// Signed in to the account: the link proves the mailbox without
	// leaving its follower alone in the account.
	check("POST /api/v1/auth/email/verify", e.do("POST", "/api/v1/auth/email/verify", regAccess, map[string]any{"token": verify}), 204)
	check("POST /api/v1/auth/email/verify", e.do("POST", "/api/v1/auth/email/verify", "", map[string]any{"token": verify}), 401)

	check("POST /api/v1/auth/login", e.login("openapi", "not the password"), 401)
	login := check("POST /api/v1/auth/login", e.login("openapi", testPassword), 200)
	_, loginRefresh := tokens(login.json(t))
	refreshed := check("POST /api/v1/auth/refresh", e.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": loginRefresh}), 200)
	access, refresh := tokens(refreshed.json(t))
	check("POST /api/v1/auth/refresh", e.do("POST", "/api/v1/auth/refresh", "", map[string]any{"refresh_token": "nope"}), 401)

	sessions := check("GET /api/v1/users/me/sessions", e.do("GET", "/api/v1/users/me/sessions", access, nil), 200)
	for _, s := range decodePage(t, sessions).Items {
		if s["current"] == false {
			check("DELETE /api/v1/users/me/sessions/{id}", e.do("DELETE", at("/api/v1/users/me/sessions/%v", s["id"]), access, nil), 204)
		}
	}
	check("DELETE /api/v1/users/me/sessions/{id}", e.do("DELETE", "/api/v1/users/me/sessions/999999999", access, nil), 404)
	for range 3 {
		check("GET /api/v1/users/me/export", e.do("GET", "/api/v1/users/me/export", access, nil), 200)
	}
	check("GET /api/v1/users/me/export", e.do("GET", "/api/v1/users/me/export", access, nil), 429)
	check("GET /api/v1/users/me/export", e.do("GET", "/api/v1/users/me/export?all=1", access, nil), 400)
	check("POST /api/v1/auth/password/change", e.do("POST", "/api/v1/auth/password/change", access,
		map[string]any{"current_password": "wrong", "new_password": newPassword}), 422)
	check("POST /api/v1/auth/password/change", e.do("POST", "/api/v1/auth/password/change", access,
		map[string]any{"current_password": testPassword, "new_password": newPassword}), 204)
	check("POST /api/v1/auth/email/verify/resend", e.do("POST", "/api/v1/auth/email/verify/resend", access, nil), 202)
	check("POST /api/v1/auth/password/forgot", e.do("POST", "/api/v1/auth/password/forgot", "", map[string]any{"email": email}), 202)
	check("POST /api/v1/auth/password/forgot", e.do("POST", "/api/v1/auth/password/forgot", "", map[string]any{"email": "nope"}), 202)
	mails := e.mailsTo(email)
	reset := tokenIn(t, mails[len(mails)-1], "/reset-password")
	check("POST /api/v1/auth/password/reset", e.do("POST", "/api/v1/auth/password/reset", "", map[string]any{"token": reset, "password": "short"}), 422)
	check("POST /api/v1/auth/password/reset", e.do("POST", "/api/v1/auth/password/reset", "", map[string]any{"token": reset, "password": testPassword}), 204)
	check("POST /api/v1/auth/password/reset", e.do("POST", "/api/v1/auth/password/reset", "", map[string]any{"token": reset, "password": testPassword}), 401)
	check("POST /api/v1/auth/logout", e.do("POST", "/api/v1/auth/logout", "", map[string]any{"refresh_token": refresh}), 204)

	// The signed-in user's own account.
	check("PATCH /api/v1/users/me", e.do("PATCH", "/api/v1/users/me", idpTok, `{"first_name": "Ada", "bio": null, "country": "in"}`, mergePatch...), 200)
	check("PATCH /api/v1/users/me", e.do("PATCH", "/api/v1/users/me", idpTok, map[string]any{"username": "openapi"}), 409)
	check("PATCH /api/v1/users/me", e.do("PATCH", "/api/v1/users/me", idpTok, map[string]any{"country": "XX"}), 422)
	check("PATCH /api/v1/users/me/preferences", e.do("PATCH", "/api/v1/users/me/preferences", idpTok, `{"theme": "dark"}`, mergePatch...), 200)
	check("PATCH /api/v1/users/me/preferences", e.do("PATCH", "/api/v1/users/me/preferences", idpTok, `[1]`, mergePatch...), 422)
	check("PUT /api/v1/users/me/location", e.do("PUT", "/api/v1/users/me/location", idpTok, map[string]any{"latitude": 12.97, "longitude": 77.59}), 200)
	check("PUT /api/v1/users/me/location", e.do("PUT", "/api/v1/users/me/location", idpTok, map[string]any{}), 422)
	check("GET /api/v1/users/me", e.do("GET", "/api/v1/users/me", idpTok, nil), 200)
	check("DELETE /api/v1/users/me/location", e.do("DELETE", "/api/v1/users/me/location", idpTok, nil), 204)
	check("GET /api/v1/users/me/identities", e.do("GET", "/api/v1/users/me/identities", idpTok, nil), 200)
	check("DELETE /api/v1/users/me/identities/{provider}", e.do("DELETE", "/api/v1/users/me/identities/github", idpTok, nil), 404)
	check("DELETE /api/v1/users/me/identities/{provider}", e.do("DELETE", "/api/v1/users/me/identities/"+testProvider, idpTok, nil), 409)
	check("POST /api/v1/auth/email/verify/resend", e.do("POST", "/api/v1/auth/email/verify/resend", idpTok, nil), 422)

	// Other users.
	public := check("GET /api/v1/users/{id}", e.do("GET", at("/api/v1/users/%d", localID), idpTok, nil), 200)
	if got, want := sortedKeys(public.json(t)), sortedKeys(obj(o.schema("PublicUser")["properties"])); !slices.Equal(got, want) {
		t.Errorf("GET /api/v1/users/{id} of another: got keys %v, want the PublicUser schema's %v", got, want)
	}
	check("GET /api/v1/users/{id}", e.do("GET", at("/api/v1/users/%d", idpID), idpTok, nil), 200)
	check("GET /api/v1/users/{id}", e.do("GET", "/api/v1/users/999999999", idpTok, nil), 404)
	check("GET /api/v1/users", e.do("GET", "/api/v1/users", idpTok, nil), 403)

	// The social graph.
	friendTok, friendID := e.signIn("openapi-friend", nil)
	check("PUT /api/v1/users/{id}/follow", e.do("PUT", at("/api/v1/users/%d/follow", friendID), idpTok, nil), 204)
	check("PUT /api/v1/users/{id}/follow", e.do("PUT", at("/api/v1/users/%d/follow", idpID), idpTok, nil), 422)
	check("PUT /api/v1/users/{id}/follow", e.do("PUT", "/api/v1/users/999999999/follow", idpTok, nil), 404)
	check("GET /api/v1/users/{id}/followers", e.do("GET", at("/api/v1/users/%d/followers?limit=1", friendID), idpTok, nil), 200)
	check("GET /api/v1/users/{id}/followers", e.do("GET", at("/api/v1/users/%d/followers?cursor=tampered", friendID), idpTok, nil), 400)
	check("GET /api/v1/users/{id}/following", e.do("GET", at("/api/v1/users/%d/following", idpID), friendTok, nil), 200)
	check("GET /api/v1/users/{id}/following", e.do("GET", at("/api/v1/users/%d/following?limit=201", idpID), friendTok, nil), 422)
	check("GET /api/v1/users/{id}/follow-stats", e.do("GET", at("/api/v1/users/%d/follow-stats", friendID), idpTok, nil), 200)
	check("DELETE /api/v1/users/{id}/follow", e.do("DELETE", at("/api/v1/users/%d/follow", friendID), idpTok, nil), 204)
	check("DELETE /api/v1/users/{id}/follow", e.do("DELETE", at("/api/v1/users/%d/follow", idpID), idpTok, nil), 422)
	check("PUT /api/v1/users/{id}/block", e.do("PUT", at("/api/v1/users/%d/block", friendID), idpTok, nil), 204)
	check("PUT /api/v1/users/{id}/block", e.do("PUT", "/api/v1/users/99999999999999999999/block", idpTok, nil), 404)
	check("PUT /api/v1/users/{id}/follow", e.do("PUT", at("/api/v1/users/%d/follow", idpID), friendTok, nil), 403)
	check("GET /api/v1/users/{id}/follow-stats", e.do("GET", at("/api/v1/users/%d/follow-stats", idpID), friendTok, nil), 404)
	check("GET /api/v1/users/me/blocks", e.do("GET", "/api/v1/users/me/blocks", idpTok, nil), 200)
	check("GET /api/v1/users/me/blocks", e.do("GET", "/api/v1/users/me/blocks?limit=0", idpTok, nil), 422)
	check("DELETE /api/v1/users/{id}/block", e.do("DELETE", at("/api/v1/users/%d/block", friendID), idpTok, nil), 204)
	check("DELETE /api/v1/users/{id}/block", e.do("DELETE", at("/api/v1/users/%d/block", idpID), idpTok, nil), 422)

	// Administration.
	adminTok, adminID := e.userWithRole("openapi-admin", "admin")
	check("GET /api/v1/users", e.do("GET", "/api/v1/users?limit=1&is_active=true", adminTok, nil), 200)
	check("GET /api/v1/users", e.do("GET", "/api/v1/users?cursor=tampered", adminTok, nil), 400)
	check("GET /api/v1/users", e.do("GET", "/api/v1/users?limit=0", adminTok, nil), 422)
	check("GET /api/v1/users/lookup", e.do("GET", "/api/v1/users/lookup?email="+email, adminTok, nil), 200)
	check("GET /api/v1/users/lookup", e.do("GET", "/api/v1/users/lookup", adminTok, nil), 422)
	check("GET /api/v1/users/lookup", e.do("GET", "/api/v1/users/lookup?email=nobody@example.com", adminTok, nil), 404)
	check("PUT /api/v1/users/{id}/role", e.do("PUT", at("/api/v1/users/%d/role", localID), adminTok, map[string]any{"role": "agent"}), 200)
	check("PUT /api/v1/users/{id}/role", e.do("PUT", at("/api/v1/users/%d/role", localID), adminTok, map[string]any{"role": "king"}), 422)
	check("PUT /api/v1/users/{id}/role", e.do("PUT", at("/api/v1/users/%d/role", adminID), adminTok, map[string]any{"role": "user"}), 403)
	check("POST /api/v1/users/{id}/deactivate", e.do("POST", at("/api/v1/users/%d/deactivate", localID), adminTok, nil), 200)
	check("POST /api/v1/users/{id}/reactivate", e.do("POST", at("/api/v1/users/%d/reactivate", localID), adminTok, nil), 200)
	check("POST /api/v1/users/{id}/deactivate", e.do("POST", at("/api/v1/users/%d/deactivate", adminID), adminTok, nil), 403)
	check("GET /api/v1/audit-events", e.do("GET", "/api/v1/audit-events?limit=1", adminTok, nil), 200)
	check("GET /api/v1/audit-events", e.do("GET", "/api/v1/audit-events?cursor=tampered", adminTok, nil), 400)
	check("DELETE /api/v1/users/{id}", e.do("DELETE", at("/api/v1/users/%d", localID), adminTok, nil), 200)
	check("DELETE /api/v1/users/{id}", e.do("DELETE", at("/api/v1/users/%d", localID), adminTok, nil), 404)

	// Deletion.
	check("DELETE /api/v1/users/me", e.do("DELETE", "/api/v1/users/me", adminTok, nil), 409)
	check("POST /api/v1/auth/delete-account", e.do("POST", "/api/v1/auth/delete-account", adminTok, nil), 409)
	check("DELETE /api/v1/users/me", e.do("DELETE", "/api/v1/users/me", idpTok, nil), 200)
	check("GET /api/v1/users/me", e.do("GET", "/api/v1/users/me", idpTok, nil), 403)
	otherTok, _ := e.signIn("openapi-other", nil)
	check("POST /api/v1/auth/delete-account", e.do("POST", "/api/v1/auth/delete-account", otherTok, nil), 204)
}
