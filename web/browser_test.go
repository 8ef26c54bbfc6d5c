package web

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"

	kp "kontaktpunkt"
)

// chromiumPath returns the headless browser, or skips the test (fails it
// under CI=true, where .ci/run installs chromium).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if ciRequired() {
		t.Fatal("chromium not found (apt-get install chromium chromium-driver)")
	}
	t.Skip("chromium not found; install chromium to run the browser test")
	return ""
}

// chromium runs a headless browser on url with extra flags and returns
// its standard output.
func chromium(t *testing.T, bin, url string, flags ...string) []byte {
	t.Helper()
	ctx := context.Background()
	if dl, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir(),
	}, flags...)
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, stderr.String())
	}
	return out
}

// seenPage is what a person sees of a dumped DOM: the title, the visible
// text with whitespace collapsed, and the links by their text.
type seenPage struct {
	Title string
	Text  string
	Links map[string]string // link text -> href
}

func see(t *testing.T, dom []byte) seenPage {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(dom))
	if err != nil {
		t.Fatalf("parsing the DOM: %v", err)
	}
	p := seenPage{Links: map[string]string{}}
	var text strings.Builder
	var walk func(n *html.Node, visible bool)
	walk = func(n *html.Node, visible bool) {
		switch n.Type {
		case html.TextNode:
			if visible {
				text.WriteString(n.Data)
				text.WriteByte(' ')
			}
		case html.ElementNode:
			switch n.Data {
			case "title":
				if n.FirstChild != nil {
					p.Title = n.FirstChild.Data
				}
				visible = false
			case "head", "style", "script", "template", "noscript":
				visible = false
			case "a":
				var b strings.Builder
				collect(n, &b)
				for _, a := range n.Attr {
					if a.Key == "href" {
						p.Links[strings.Join(strings.Fields(b.String()), " ")] = a.Val
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, visible)
		}
	}
	walk(doc, true)
	p.Text = strings.Join(strings.Fields(text.String()), " ")
	return p
}

func collect(n *html.Node, b *strings.Builder) {
	if n.Type == html.TextNode {
		b.WriteString(n.Data)
		b.WriteByte(' ')
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		collect(c, b)
	}
}

func (p seenPage) mustShow(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(p.Text, w) {
			t.Errorf("the page does not show %q\nit shows: %s", w, p.Text)
		}
	}
}

// TestBrowserCaseListAndCase opens the dashboard in headless Chromium the
// way a person would: the case list, then a click on a case, then a case
// whose mail tries to run a script.
func TestBrowserCaseListAndCase(t *testing.T) {
	bin := chromiumPath(t)
	st := openStore(t)
	seedSmall(t, st)
	evil := addCase(t, st, kp.Case{
		Subject: `Hjelp <script>document.title="pwned"</script>`, Requester: kp.Address{Name: "Trond Ås", Addr: "trond@example.no"},
		Created: t0, Updated: t0,
	}, kp.Message{Direction: kp.In, Class: kp.ClassHuman, Kind: "request", From: kp.Address{Addr: "trond@example.no"},
		Subject: "Hjelp", Date: t0, Text: `<img src=x onerror="document.title='pwned'">Bildet vises ikke.`})
	srv := httptest.NewServer(newHandler(t, st, &clock{t: t0}, nil))
	defer srv.Close()

	list := see(t, chromium(t, bin, srv.URL+"/", "--dump-dom"))
	if list.Title != "Open cases · Integrasjon UiO" {
		t.Errorf("list title %q", list.Title)
	}
	list.mustShow(t,
		"Open 4", "Waiting 1", "Overdue 1", "Escalated", "Resolved 1", "All 6",
		"[INT#1] Tilgang til FS-API for emner", "From Åse Bjørnstad <ase@student.example.no>", "per@uio.no",
		"[INT#3] Synkronisering av grupper stoppet", "overdue", "[INT#4] Eksamen: karakterer mangler", "escalated 2",
		`Hjelp <script>document.title="pwned"</script>`,
	)
	if strings.Contains(list.Text, "Sertifikat utløpt") {
		t.Error("the open list shows a resolved case")
	}

	href, ok := list.Links["[INT#1]"]
	if !ok {
		t.Fatalf("no link to [INT#1]; links: %v", list.Links)
	}
	cs := see(t, chromium(t, bin, srv.URL+href, "--dump-dom"))
	if cs.Title != "[INT#1] Tilgang til FS-API for emner · Integrasjon UiO" {
		t.Errorf("case title %q", cs.Title)
	}
	cs.mustShow(t,
		"[INT#1] Tilgang til FS-API for emner",
		"Status open", "Priority normal", "Requester Åse Bjørnstad <ase@student.example.no>",
		"Assignee per@uio.no", "Team team-fs", "Escalation none", "Next follow-up respond 2026-11-26 10:00",
		"Timeline (3)",
		"Hei! Vi får ikke oppdatert studentdata fra FS til Canvas. Mvh Åse",
		"Takk for henvendelsen.",
		"OUTSIDER", "From Mallory Outsider <mallory@elsewhere.example>", "Jeg blander meg inn.",
	)

	bad := see(t, chromium(t, bin, fmt.Sprintf("%s/case/%d", srv.URL, evil), "--dump-dom"))
	if want := `[INT#6] Hjelp <script>document.title="pwned"</script> · Integrasjon UiO`; bad.Title != want {
		t.Fatalf("a script from the mail ran: title %q", bad.Title)
	}
	bad.mustShow(t, `Hjelp <script>document.title="pwned"</script>`, `<img src=x onerror="document.title='pwned'">Bildet vises ikke.`)
}

// TestBrowserPhoneScreenshot renders the case list at a phone's width and
// checks that Chromium produced a picture of that size; the picture is
// kept when KP_SCREENSHOT_DIR names a directory, for a person to look at.
func TestBrowserPhoneScreenshot(t *testing.T) {
	bin := chromiumPath(t)
	st := openStore(t)
	ids := seedSmall(t, st)
	srv := httptest.NewServer(newHandler(t, st, &clock{t: t0}, nil))
	defer srv.Close()
	dir := os.Getenv("KP_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	for name, path := range map[string]string{"list": "/", "case": fmt.Sprintf("/case/%d", ids["open"])} {
		file := filepath.Join(dir, "phone-"+name+".png")
		chromium(t, bin, srv.URL+path, "--window-size=390,844", "--hide-scrollbars", "--screenshot="+file)
		f, err := os.Open(file)
		if err != nil {
			t.Fatalf("%s: no screenshot: %v", name, err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: screenshot: %v", name, err)
		}
		if cfg.Width != 390 {
			t.Errorf("%s: screenshot %dx%d, want width 390", name, cfg.Width, cfg.Height)
		}
	}
}
