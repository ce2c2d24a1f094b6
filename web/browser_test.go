package web_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's chromium through chromedp: one browser
// for the whole test binary, a fresh browser context (its own cookies and
// storage, like a new profile) for each device of each flow. Every page a
// flow opens is checked with axe-core (testdata/axe, pinned): no serious
// or critical violation. On failure the current page is saved under
// testdata/screenshots. Under CI=true a missing browser fails the tests;
// elsewhere they are skipped with a note. USERD_SCREENSHOTS=dir saves a
// PNG of each page the flows name (the docs' pictures).

//go:embed testdata/axe/axe.min.js
var axeSource string

var chrome struct {
	once   sync.Once
	ctx    context.Context // the browser's; contexts of devices derive from it
	cancel func()
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if chrome.cancel != nil {
		chrome.cancel()
	}
	os.Exit(code)
}

// findChromium is the browser to drive: $CHROMIUM, else chromium on PATH.
func findChromium() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium on PATH (install it: apt-get install -y chromium)")
}

// sharedBrowser starts the one browser of the test binary.
func sharedBrowser(t *testing.T) context.Context {
	t.Helper()
	chrome.once.Do(func() {
		path, err := findChromium()
		if err != nil {
			chrome.err = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
			chromedp.Flag("ignore-certificate-errors", true), chromedp.WindowSize(1024, 900))
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(alloc)
		if err := chromedp.Do(ctx); err != nil {
			chrome.err = fmt.Errorf("start %s: %w", path, err)
		}
		chrome.ctx, chrome.cancel = ctx, func() { cancelCtx(); cancelAlloc() }
	})
	if chrome.err != nil {
		// Never a skip: make test installs chromium when it may
		// (scripts/ensure-chromium.sh).
		t.Fatalf("browser tests: %v", chrome.err)
	}
	return chrome.ctx
}

// device is one browser profile in a flow.
type device struct {
	t    *testing.T
	s    *site
	name string
	ctx  context.Context
}

// newDevice opens a fresh browser context: no cookies, no storage.
func (s *site) device(t *testing.T, name string) *device {
	t.Helper()
	ctx, cancel := chromedp.NewContext(sharedBrowser(t), chromedp.WithNewBrowserContext())
	d := &device{t: t, s: s, name: name, ctx: ctx}
	t.Cleanup(func() {
		if t.Failed() {
			d.screenshot(filepath.Join("testdata", "screenshots", safeName(t.Name()+"-"+name)+".png"))
		}
		cancel()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func safeName(s string) string { return unsafe.ReplaceAllString(s, "_") }

// stepTimeout bounds one step of a flow (the device's context must not
// have a deadline: it would end the browser context).
const stepTimeout = 2 * time.Minute

// do runs one action on d with stepTimeout.
func do[T any](d *device, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(d.ctx, stepTimeout)
	defer cancel()
	return chromedp.Run(ctx, a)
}

func (d *device) run(actions ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	if _, err := do(d, chromedp.Steps(actions...)); err != nil {
		d.t.Fatalf("%s: %v", d.name, err)
	}
}

func (d *device) screenshot(path string) {
	png, err := do(d, chromedp.FullScreenshot(100)) // quality 100 is PNG, less is JPEG
	if err != nil || len(png) == 0 {
		return
	}
	_ = os.MkdirAll(filepath.Dir(path), 0o755)
	_ = os.WriteFile(path, png, 0o644)
}

// open navigates to path of the site and checks the page.
func (d *device) open(path string) {
	d.t.Helper()
	d.run(chromedp.Navigate(d.s.url + path))
	d.loaded()
}

// loaded waits for the page's h1 and checks it with axe-core.
func (d *device) loaded() {
	d.t.Helper()
	d.run(chromedp.WaitReady(chromedp.CSS("h1")))
	d.axe()
}

// heading waits until the page's h1 reads want, then checks the page.
func (d *device) heading(want string) {
	d.t.Helper()
	d.waitHeading(want)
	d.axe()
	if dir := os.Getenv("USERD_SCREENSHOTS"); dir != "" {
		d.screenshot(filepath.Join(dir, safeName(strings.ToLower(want))+".png"))
	}
}

// waitHeading waits until the page's h1 reads want.
func (d *device) waitHeading(want string) {
	d.t.Helper()
	var got string
	deadline := time.Now().Add(15 * time.Second)
	for {
		var err error
		// A page that a submit left is stale (window.userdStale): its
		// heading may be the next page's too.
		got, err = do(d, chromedp.Evaluate[string](
			`window.userdStale || document.readyState !== "complete" ? "" : ((document.querySelector("h1") || {}).textContent || "")`))
		if err == nil && strings.TrimSpace(got) == want {
			break
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("%s: got heading %q, want %q (err %v)", d.name, got, want, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// text is the visible text of the page's main.
func (d *device) text() string {
	d.t.Helper()
	s, err := do(d, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		d.t.Fatalf("%s: %v", d.name, err)
	}
	return s
}

// expectText fails unless the page's main shows each of want.
func (d *device) expectText(want ...string) {
	d.t.Helper()
	got := d.text()
	for _, w := range want {
		if !strings.Contains(got, w) {
			d.t.Fatalf("%s: the page lacks %q:\n%s", d.name, w, got)
		}
	}
}

// submit fills a form's fields (name → value) and presses its button.
func (d *device) submit(form string, fields map[string]string) {
	d.t.Helper()
	var actions []chromedp.Action[chromedp.Void]
	for name, value := range fields {
		sel := chromedp.CSS(form + ` [name="` + name + `"]`)
		actions = append(actions, chromedp.WaitVisible(sel), chromedp.SendKeys(sel, value))
	}
	d.run(actions...)
	d.click(form + ` button[type="submit"]`)
}

// click clicks what sel selects, marking the page stale first: heading
// then waits for the page the click leads to.
func (d *device) click(sel string) {
	d.t.Helper()
	if _, err := do(d, chromedp.Evaluate[bool](`window.userdStale = true`)); err != nil {
		d.t.Fatalf("%s: %v", d.name, err)
	}
	d.run(chromedp.Click(chromedp.CSS(sel)))
}

// checked are the pages axe-core passed, by heading, count of messages
// and path.
var checked = struct {
	sync.Mutex
	pages map[string]bool
}{pages: map[string]bool{}}

type axeResult struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any `json:"target"`
	} `json:"nodes"`
}

// axe runs axe-core on the page: no serious or critical violation. The
// script is injected through the DevTools protocol, which the page's CSP
// does not govern (the pages themselves allow no script).
func (d *device) axe() {
	d.t.Helper()
	// Each page, in each of its states (with or without errors and
	// notices), is checked once per test binary: the flows open some pages
	// many times, and a check costs a second or more on a loaded machine.
	key, err := do(d, chromedp.Evaluate[string](
		`document.querySelector("h1").textContent + "|" + document.querySelectorAll(".error, .alert, .notice").length + "|" + location.pathname`))
	if err != nil {
		d.t.Fatalf("%s: %v", d.name, err)
	}
	checked.Lock()
	seen := checked.pages[key]
	checked.pages[key] = true
	checked.Unlock()
	if seen {
		return
	}
	loaded, err := do(d, chromedp.Evaluate[bool](`typeof window.axe !== "undefined"`))
	if err == nil && !loaded {
		_, err = do(d, chromedp.Evaluate[bool](axeSource+";true"))
	}
	if err != nil {
		d.t.Fatalf("%s: inject axe-core: %v", d.name, err)
	}
	run := `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.filter(v => v.impact === "serious" || v.impact === "critical"))`
	out, err := do(d, chromedp.Evaluate[[]axeResult](run, chromedp.EvalAwaitPromise))
	if err != nil {
		d.t.Fatalf("%s: axe-core: %v", d.name, err)
	}
	if len(out) > 0 {
		b, _ := json.MarshalIndent(out, "", "  ")
		url, _ := do(d, chromedp.Location())
		d.t.Fatalf("%s: axe-core found %d serious or critical violations on %s:\n%s", d.name, len(out), url, b)
	}
}

// Sign up, verify on a second device with the password, sign in on the
// first, change the password, sign out everywhere.
func TestBrowserSignUpVerifyElsewhere(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	laptop := s.device(t, "laptop")
	laptop.open("/signup")
	laptop.heading("Create an account")
	laptop.submit(`form[action="/signup"]`, map[string]string{"email": "flow@example.com", "password": testPassword})
	laptop.heading("Your account")
	laptop.expectText("Welcome!", "flow@example.com")

	phone := s.device(t, "phone")
	phone.open(s.link("flow@example.com", "/verify-email"))
	phone.heading("Confirm your email address")
	phone.submit(`form[action="/verify-email"]`, map[string]string{"password": testPassword})
	phone.heading("Email address confirmed")

	laptop.click(`header form[action="/signout"] button`)
	laptop.heading("Sign in")
	laptop.submit(`form[action="/signin"]`, map[string]string{"identifier": "flow@example.com", "password": testPassword})
	laptop.heading("Your account")
	laptop.open("/account/email")
	laptop.heading("Your email address")
	laptop.expectText("(confirmed)")

	laptop.open("/account/password")
	laptop.heading("Change your password")
	laptop.submit(`form[action="/account/password"]`, map[string]string{"current_password": testPassword, "new_password": "a newer passphrase"})
	laptop.heading("Change your password")
	laptop.expectText("Your password is changed")

	laptop.open("/account/sessions")
	laptop.heading("Sessions")
	laptop.expectText("(this browser)")
	laptop.click(`form[action="/account/sessions/revoke-all"] button`)
	laptop.heading("Sign in")
	laptop.open("/account")
	laptop.heading("Sign in")
}

func TestBrowserForgotReset(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.browser().signUp("reset.flow@example.com")
	d := s.device(t, "browser")
	d.open("/signin")
	d.heading("Sign in")
	d.click(`a[href="/forgot-password"]`)
	d.heading("Reset your password")
	d.submit(`form[action="/forgot-password"]`, map[string]string{"email": "reset.flow@example.com"})
	d.heading("Check your mail")
	d.open(s.link("reset.flow@example.com", "/reset-password"))
	d.heading("Choose a new password")
	d.submit(`form[action="/reset-password"]`, map[string]string{"password": "short"})
	d.heading("Choose a new password")
	d.expectText("Must be at least 8 characters")
	d.submit(`form[action="/reset-password"]`, map[string]string{"password": "the reset passphrase"})
	d.heading("Password changed")
	d.click(`main a[href="/signin"]`)
	d.heading("Sign in")
	d.submit(`form[action="/signin"]`, map[string]string{"identifier": "reset.flow@example.com", "password": "the reset passphrase"})
	d.heading("Your account")
}

func TestBrowserInvitation(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.browser().signUp("owner@example.com")
	ctx := context.Background()
	org, err := s.orgs.Create(ctx, s.as("owner@example.com"), "Northwind")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.orgs.Invite(ctx, s.as("owner@example.com"), org.ID, "invitee@example.com", nil); err != nil {
		t.Fatal(err)
	}
	d := s.device(t, "invitee")
	d.open(s.link("invitee@example.com", "/accept-invitation"))
	d.heading("Join Northwind")
	d.click(`main a[href^="/signup"]`)
	d.heading("Create an account")
	email, err := do(d, chromedp.Value(chromedp.CSS(`#email`)))
	if err != nil || email != "invitee@example.com" {
		t.Fatalf("the sign-up form: got email %q, want the invited address", email)
	}
	d.submit(`form[action="/signup"]`, map[string]string{"password": testPassword})
	d.heading("Join Northwind")
	d.click(`form[action="/accept-invitation"] button`)
	d.heading("Your account")
	d.expectText("member of Northwind", "You joined the organization.")
}

// Followed signed out without the password, the link changes nothing;
// used or expired, it says so.
func TestBrowserLinksRefused(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.browser().signUp("careful@example.com")
	link := s.link("careful@example.com", "/verify-email")
	d := s.device(t, "stranger")
	d.open(link)
	d.heading("Confirm your email address")
	d.expectText("reset the password to take the account")
	d.submit(`form[action="/verify-email"]`, map[string]string{"password": "a guessed password"})
	d.heading("Confirm your email address")
	d.expectText("Is not correct")
	var verified bool
	s.row("SELECT email_verified FROM users WHERE email = 'careful@example.com'", &verified)
	if verified {
		t.Fatal("a wrong password verified the address")
	}

	owner := s.device(t, "owner")
	owner.open(link)
	owner.submit(`form[action="/verify-email"]`, map[string]string{"password": testPassword})
	owner.heading("Email address confirmed")
	owner.open(link)
	owner.heading("This link does not work")
	owner.expectText("was used already or has expired")

	s.browser().post("/forgot-password", mustValues("email", "careful@example.com"))
	reset := s.link("careful@example.com", "/reset-password")
	if _, err := s.db.Pool.Exec(context.Background(), "UPDATE user_tokens SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 hour' WHERE purpose = 'password_reset'"); err != nil {
		t.Fatal(err)
	}
	owner.open(reset)
	owner.heading("This link does not work")
}
