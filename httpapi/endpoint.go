package httpapi

import (
	"context"
	"net/http"
	"slices"

	"github.com/userd/userd/service"
)

// Most handlers read a request (its path {id}, a JSON body or the page
// parameters), make one service call and answer with a view of its result.
// The adapters below do the reading and the answering, so such a handler is
// a function of what was read:
//
//	func (s *Server) patchOrg(q req, p service.OrgPatch) (orgView, error) {
//		return then(viewOrg)(s.orgs.Update(q.Context(), q.caller(), q.id, p))
//	}
//
// registered as body(http.StatusOK, s.patchOrg, mergeTypes...). Handlers
// that do more (avatars, the directory's filters) stay handlerFuncs.

// req is a request as an adapter hands it to its call.
type req struct {
	*http.Request
	id int64 // the path's {id}, when the route has one
}

// caller is the authenticated principal (routes under authed).
func (q req) caller() service.Principal { return principal(q.Context()) }

// callerID is the authenticated user's id.
func (q req) callerID() int64 { return q.caller().User.ID }

// readReq reads the path's {id} when the route has one; anything but a
// positive integer there is a route that does not exist.
func readReq(r *http.Request) (req, error) {
	q := req{Request: r}
	if r.PathValue("id") == "" {
		return q, nil
	}
	id, err := pathID(r)
	q.id = id
	return q, err
}

// none is the result of a call answered with no body.
type none struct{}

// messageView is a sentence for the user, as the answer of a call that
// has nothing else to return.
type messageView struct {
	Message string `json:"message"`
}

// done is the result of a call that returns only an error.
func done(err error) (none, error) { return none{}, err }

// message is msg as the result of a call that returns only an error.
func message(msg string, err error) (messageView, error) { return messageView{Message: msg}, err }

// then applies view to a service call's result and passes its error on:
// then(viewOrg)(s.orgs.Get(…)) is an (orgView, error).
func then[T, V any](view func(T) V) func(T, error) (V, error) {
	return func(t T, err error) (V, error) {
		if err != nil {
			var zero V
			return zero, err
		}
		return view(t), nil
	}
}

// act answers status with what call returns (204: no body). The request
// has no body to read.
func act[V any](status int, call func(q req) (V, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		q, err := readReq(r)
		if err != nil {
			return err
		}
		v, err := call(q)
		if err != nil {
			return err
		}
		if status == http.StatusNoContent {
			return noContent(w)
		}
		return reply(w, status, v)
	}
}

// get answers 200 with what call returns, for a request that takes no
// query parameters.
func get[V any](call func(q req) (V, error)) handlerFunc {
	return act(http.StatusOK, func(q req) (V, error) {
		if _, err := query(q.Request); err != nil {
			var zero V
			return zero, err
		}
		return call(q)
	})
}

// list answers 200 with a page: the request takes ?limit, ?cursor and the
// filters named, nothing else; call reads the filters from q.URL.
func list[V any](call func(q req, page service.PageRequest) (V, error), filters ...string) handlerFunc {
	return act(http.StatusOK, func(q req) (V, error) {
		page, err := pageParams(q.Request, filters...)
		if err != nil {
			var zero V
			return zero, err
		}
		return call(q, page)
	})
}

// body answers status with what call returns for the request's JSON body,
// sent as one of types (default application/json).
func body[B, V any](status int, call func(q req, b B) (V, error), types ...string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		var b B
		return act(status, func(q req) (V, error) {
			if err := decode(w, r, &b, types...); err != nil {
				var zero V
				return zero, err
			}
			return call(q, b)
		})(w, r)
	}
}

// pageParams reads a list's ?limit and ?cursor, refusing any parameter
// but those and the filters named.
func pageParams(r *http.Request, filters ...string) (service.PageRequest, error) {
	v, err := query(r, slices.Concat(filters, []string{"limit", "cursor"})...)
	if err != nil {
		return service.PageRequest{}, err
	}
	return pageRequest(v)
}

// pairUnder is a write on the thing that the path value name names under
// the path's {id} (a member of an organization, an invitation to it).
func pairUnder(name string, call func(ctx context.Context, by service.Principal, id, id2 int64) error) func(q req) (none, error) {
	return func(q req) (none, error) {
		id2, err := pathInt64(q.Request, name)
		if err != nil {
			return none{}, err
		}
		return done(call(q.Context(), q.caller(), q.id, id2))
	}
}
