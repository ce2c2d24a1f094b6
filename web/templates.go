package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// The pages are html/template files embedded in the binary: layout.html
// defines "layout", which calls the page's "title" and "content"; each
// other file is one page. USERD_WEB_TEMPLATES names a directory whose
// files replace the embedded ones of the same name.

//go:embed templates/*.html
var embeddedTemplates embed.FS

//go:embed static/style.css
var styleCSS []byte

const layoutFile = "layout.html"

// ErrTemplate is wrapped by LoadTemplates for a template that does not
// parse or render, or a file that replaces no template.
var ErrTemplate = errors.New("invalid page template")

// Templates are the parsed pages, by name (the file name without .html).
type Templates struct {
	pages map[string]*template.Template
}

// LoadTemplates returns the embedded page templates, each replaced by the
// file of the same name in dir when there is one ("": none). Every page is
// rendered once with empty data, so a broken one fails here, at start. A
// file in dir that names no template is an error (a misspelt override
// would otherwise be ignored).
func LoadTemplates(dir string) (*Templates, error) {
	base, err := fs.Sub(embeddedTemplates, "templates")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(base, "*.html")
	if err != nil {
		return nil, err
	}
	read := func(name string) ([]byte, error) { return fs.ReadFile(base, name) }
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrTemplate, err)
		}
		for _, e := range entries {
			if !slices.Contains(names, e.Name()) {
				return nil, fmt.Errorf("%w: %s replaces no page template (the templates: %s)", ErrTemplate, e.Name(), strings.Join(names, ", "))
			}
		}
		read = func(name string) ([]byte, error) {
			if b, err := os.ReadFile(path.Join(dir, name)); err == nil {
				return b, nil
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
			return fs.ReadFile(base, name)
		}
	}
	layoutSrc, err := read(layoutFile)
	if err != nil {
		return nil, err
	}
	layout, err := template.New(layoutFile).Funcs(funcs).Funcs(consoleFuncs).Parse(string(layoutSrc))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrTemplate, layoutFile, err)
	}
	// Files named _*.html hold templates several pages share (as
	// layout.html does); they are not pages themselves.
	for _, name := range names {
		if !strings.HasPrefix(name, "_") {
			continue
		}
		src, err := read(name)
		if err != nil {
			return nil, err
		}
		if _, err := layout.New(name).Parse(string(src)); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrTemplate, name, err)
		}
	}
	t := &Templates{pages: map[string]*template.Template{}}
	var errs []error
	for _, name := range names {
		if name == layoutFile || strings.HasPrefix(name, "_") {
			continue
		}
		src, err := read(name)
		if err != nil {
			return nil, err
		}
		page, err := template.Must(layout.Clone()).New(name).Parse(string(src))
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %w", ErrTemplate, name, err))
			continue
		}
		if err := page.ExecuteTemplate(&bytes.Buffer{}, "layout", &view{Data: map[string]any{}, Errors: map[string]string{}}); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %w", ErrTemplate, name, err))
			continue
		}
		t.pages[strings.TrimSuffix(name, ".html")] = page
	}
	return t, errors.Join(errs...)
}

// DefaultTemplates returns the embedded templates; it panics if they are
// broken, which the tests rule out.
func DefaultTemplates() *Templates {
	t, err := LoadTemplates("")
	if err != nil {
		panic(err)
	}
	return t
}

var funcs = template.FuncMap{
	// field is the value a form's input shows: what was sent, else def.
	"field": func(v *view, name string) string {
		if v.Form != nil {
			if s, ok := v.Form[name]; ok {
				return s
			}
		}
		return ""
	},
	// dict makes the argument of a template that takes several values.
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, errors.New("dict: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, errors.New("dict: a key is not a string")
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
}
