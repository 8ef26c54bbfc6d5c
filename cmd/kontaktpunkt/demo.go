package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	kp "kontaktpunkt"
	"kontaktpunkt/config"
	"kontaktpunkt/internal/demoworld"
	"kontaktpunkt/mailbox/mailmsg"
	"kontaktpunkt/store"
)

// demoClock is the demo's accelerated clock: real time plus jumps.
type demoClock struct {
	mu     sync.Mutex
	base   time.Time
	start  time.Time
	offset time.Duration
}

func (c *demoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(time.Since(c.start) + c.offset)
}

func (c *demoClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// The demo's cast.
var (
	demoContact = demoworld.Person{Name: "UiO Integrasjon", Addr: "integrasjon@uio.no", Login: "integrasjon", Password: "demo-integrasjon"}
	demoOla     = demoworld.Person{Name: "Ola Nordmann", Addr: "ola.nordmann@example.org", Login: "ola", Password: "demo-ola"}
	demoKari    = demoworld.Person{Name: "Kari Integrasjon", Addr: "kari@uio.no", Login: "kari", Password: "demo-kari"}
	demoPer     = demoworld.Person{Name: "Per Hansen", Addr: "per.hansen@uio.no", Login: "per", Password: "demo-per"}
	demoFSLeder = demoworld.Person{Name: "Frida Leder", Addr: "fs-leder@uio.no", Login: "fs-leder", Password: "demo-fs-leder"}
	demoLeder   = demoworld.Person{Name: "Liv Sjef", Addr: "leder@uio.no", Login: "leder", Password: "demo-leder"}
)

// demo is a running demo: the mail world, the whole program against it,
// and the transcript.
type demo struct {
	world *demoworld.World
	srv   *Server
	clock *demoClock
	out   io.Writer
	dir   string
	seq   int
	seen  int // deliveries already shown
	done  chan error
	stop  context.CancelFunc
}

// startDemo starts the mail world and the program in dir. The clock
// starts on a Monday morning in Oslo.
func startDemo(ctx context.Context, dir string, out io.Writer, log *slog.Logger) (*demo, error) {
	world, err := demoworld.Start([]demoworld.Person{demoContact, demoOla, demoKari, demoPer, demoFSLeder, demoLeder})
	if err != nil {
		return nil, fmt.Errorf("starting the demo's mail servers: %w", err)
	}
	pwFile := filepath.Join(dir, "imap-password")
	if err := os.WriteFile(pwFile, []byte(demoContact.Password), 0o600); err != nil {
		world.Close()
		return nil, err
	}
	cfg := config.Default()
	cfg.Contact.Address, cfg.Contact.Name = demoContact.Addr, demoContact.Name
	cfg.Store.Path = filepath.Join(dir, "kontaktpunkt.db")
	host, port := splitHostPort(world.IMAPAddr)
	cfg.IMAP.Host, cfg.IMAP.Port, cfg.IMAP.Security = host, port, "plain"
	cfg.IMAP.Username = demoContact.Login
	cfg.IMAP.Password = config.Secret{File: pwFile}
	shost, sport := splitHostPort(world.SMTPAddr)
	cfg.SMTP.Host, cfg.SMTP.Port, cfg.SMTP.Security = shost, sport, "plain"
	// One connection: the transcript shows the mails in the order they
	// were queued (over two, mail to different people may arrive in
	// either order).
	cfg.SMTP.Connections = 1
	cfg.Staff.Members = []config.Person{{Name: demoKari.Name, Address: demoKari.Addr}}
	cfg.Staff.Lead, cfg.Staff.Manager = demoKari.Addr, demoLeder.Addr
	cfg.Staff.TrustedAuthservIDs = []string{demoworld.AuthServID}
	cfg.Teams = []config.Team{{Name: "fs", Members: []string{demoPer.Addr}, Escalation: demoFSLeder.Addr}}
	cfg.HTTP.Listen = "127.0.0.1:0"
	if err := cfg.Validate(); err != nil {
		world.Close()
		return nil, fmt.Errorf("demo configuration: %w", err)
	}
	loc, _ := time.LoadLocation("Europe/Oslo")
	clock := &demoClock{base: time.Date(2026, 11, 30, 9, 0, 0, 0, loc), start: time.Now()}
	srv, _ := NewServer(cfg, log)
	srv.Now = clock.Now
	if err := srv.Open(); err != nil {
		world.Close()
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	d := &demo{world: world, srv: srv, clock: clock, out: out, dir: dir, done: make(chan error, 1), stop: stop}
	go func() { d.done <- srv.Run(runCtx) }()
	select {
	case <-srv.Ready():
	case err := <-d.done:
		d.close()
		return nil, fmt.Errorf("the program stopped at start: %v", err)
	}
	return d, nil
}

// close stops the program and the mail world.
func (d *demo) close() error {
	d.stop()
	err := <-d.done
	d.done <- err
	d.srv.Close()
	d.world.Close()
	return err
}

func splitHostPort(addr string) (string, int) {
	i := strings.LastIndex(addr, ":")
	var port int
	fmt.Sscan(addr[i+1:], &port)
	return addr[:i], port
}

// write submits a mail from a person to the contact address, as their mail
// client would; auth says whether they logged in to submit it.
func (d *demo) write(from demoworld.Person, auth bool, subject, body string, headers ...string) (string, error) {
	d.seq++
	id := fmt.Sprintf("demo-%d-%d@%s", d.seq, time.Now().UnixNano(), from.Addr[strings.LastIndex(from.Addr, "@")+1:])
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s <%s>\r\nTo: %s <%s>\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\n",
		from.Name, from.Addr, demoContact.Name, demoContact.Addr, mime.QEncoding.Encode("utf-8", subject), id, d.clock.Now().Format(time.RFC1123Z))
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return id, d.world.Submit(from, auth, []string{demoContact.Addr}, []byte(b.String()))
}

// shownMail is one mail the gateway sent, as the transcript shows it.
type shownMail struct {
	Kind, Subject, MessageID string
	To                       []string
	Parsed                   *kp.Parsed
}

// expect waits until the gateway has sent a mail for which match is true,
// printing every mail it sends meanwhile, and returns the matching one.
func (d *demo) expect(ctx context.Context, what string, match func(shownMail) bool) (shownMail, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		del, err := d.world.WaitFor(ctx, d.seen)
		if err != nil {
			return shownMail{}, fmt.Errorf("waiting for %s: %w", what, err)
		}
		d.seen++
		p, _ := mailmsg.Parse(del.Raw)
		m := shownMail{Kind: p.Get("X-Kontaktpunkt-Kind"), Subject: p.Subject, MessageID: p.MessageID, To: del.To, Parsed: p}
		if !strings.EqualFold(del.From, demoContact.Addr) {
			continue // a person's own mail to the contact address
		}
		d.show(m)
		if match(m) {
			return m, nil
		}
	}
}

func (d *demo) show(m shownMail) {
	fmt.Fprintf(d.out, "\n  ✉ %s  %s → %s  [%s]\n    Subject: %s\n", d.clock.Now().Format("Mon 02 Jan 15:04"),
		demoContact.Addr, strings.Join(m.To, ", "), m.Kind, m.Subject)
	lines := strings.Split(strings.TrimSpace(m.Parsed.Text), "\n")
	if len(lines) > 8 {
		lines = append(lines[:8], "…")
	}
	for _, l := range lines {
		fmt.Fprintf(d.out, "    │ %s\n", l)
	}
}

func kindTo(kind string, who demoworld.Person) func(shownMail) bool {
	return func(m shownMail) bool {
		if m.Kind != kind {
			return false
		}
		for _, t := range m.To {
			if strings.EqualFold(t, who.Addr) {
				return true
			}
		}
		return false
	}
}

// caseState reads case 1 and prints it.
func (d *demo) caseState(id kp.CaseID) (*kp.Case, error) {
	var c *kp.Case
	err := d.srv.Store.View(func(tx *store.Tx) error {
		var err error
		c, err = tx.Case(id)
		return err
	})
	if err != nil {
		return nil, err
	}
	next := "none"
	if c.Next != nil {
		next = fmt.Sprintf("%s at %s", c.Next.Kind, c.Next.Due.In(d.clock.base.Location()).Format("Mon 02 Jan 15:04"))
	}
	fmt.Fprintf(d.out, "\n  ▸ case %s: status %s, assignee %s, team %s, escalation %d, next follow-up %s\n",
		c.ID.Tag(d.srv.Config.Contact.TagPrefix), c.Status, orDash(c.Assignee), orDash(c.Team), c.Escalation, next)
	return c, nil
}

func (d *demo) step(title string) {
	fmt.Fprintf(d.out, "\n— %s — %s\n", d.clock.Now().Format("Mon 02 Jan 15:04"), title)
}

// advanceTo moves the clock on to t and wakes the workers.
func (d *demo) advanceTo(t time.Time) {
	if dur := t.Sub(d.clock.Now()); dur > 0 {
		d.clock.Advance(dur)
	}
	d.srv.Gateway.Wake()
}

// play runs the scripted conversation. Every step waits for the mail it
// causes; nothing sleeps.
func (d *demo) play(ctx context.Context) error {
	d.step("Ola Nordmann writes to the contact address")
	reqID, err := d.write(demoOla, false, "Tilgang til studentdata fra FS for nytt integrasjonsprosjekt",
		"Hei!\n\nVi i prosjektet «Læringsløp» trenger tilgang til studentdata fra FS\n(emner, vurderinger og oppmeldinger), helst via API.\n\nHvem kan hjelpe oss med avtale og tilgang?\n\nMed vennlig hilsen\nOla Nordmann\n")
	if err != nil {
		return err
	}
	_ = reqID
	if _, err := d.expect(ctx, "the acknowledgement", kindTo("ack", demoOla)); err != nil {
		return err
	}
	notify, err := d.expect(ctx, "the staff notification", kindTo("notify", demoKari))
	if err != nil {
		return err
	}
	if _, err := d.caseState(1); err != nil {
		return err
	}

	d.step("Kari (staff) assigns the case to Per by replying with [assign:per.hansen]")
	if _, err := d.write(demoKari, true, "[assign:per.hansen] Re: "+notify.Subject, "",
		"In-Reply-To: <"+notify.MessageID+">"); err != nil {
		return err
	}
	assign, err := d.expect(ctx, "the assignment", kindTo("assign", demoPer))
	if err != nil {
		return err
	}
	if _, err := d.expect(ctx, "the receipt", kindTo("receipt", demoKari)); err != nil {
		return err
	}
	if _, err := d.caseState(1); err != nil {
		return err
	}

	d.step("Two working days pass without an answer (accelerated clock)")
	d.advanceTo(time.Date(2026, 12, 2, 9, 5, 0, 0, d.clock.base.Location()))
	if _, err := d.expect(ctx, "the reminder", kindTo("respond", demoPer)); err != nil {
		return err
	}
	if _, err := d.caseState(1); err != nil {
		return err
	}

	d.step("A week later, still no answer: escalation to the team's escalation contact and the lead")
	d.advanceTo(time.Date(2026, 12, 7, 9, 10, 0, 0, d.clock.base.Location()))
	if _, err := d.expect(ctx, "the escalation", kindTo("escalate", demoFSLeder)); err != nil {
		return err
	}
	if _, err := d.caseState(1); err != nil {
		return err
	}

	d.step("Per answers the requester by replying to the assignment")
	if _, err := d.write(demoPer, true, "Re: "+assign.Subject,
		"Hei Ola,\n\nDere får tilgang til FS-API når databehandleravtalen er signert.\nJeg sender avtalen i dag.\n\nPer Hansen, FS-forvaltning\n",
		"In-Reply-To: <"+assign.MessageID+">"); err != nil {
		return err
	}
	relay, err := d.expect(ctx, "the relay to Ola", kindTo("relay", demoOla))
	if err != nil {
		return err
	}
	if _, err := d.caseState(1); err != nil {
		return err
	}

	d.step("Ola replies from his phone: no tag, only In-Reply-To")
	if _, err := d.write(demoOla, false, "SV: Tilgang til studentdata",
		"Takk! Avtalen er signert og sendt tilbake.\n\nSendt fra min iPhone\n",
		"In-Reply-To: <"+relay.MessageID+">"); err != nil {
		return err
	}
	if _, err := d.expect(ctx, "the relay to Per", kindTo("relay", demoPer)); err != nil {
		return err
	}
	if _, err := d.caseState(1); err != nil {
		return err
	}

	d.step("Per closes the case with [close] and a last word to Ola")
	if _, err := d.write(demoPer, true, "[close] Re: "+assign.Subject,
		"Tilgangen er gitt. Lykke til med prosjektet!\n\nPer\n"); err != nil {
		return err
	}
	if _, err := d.expect(ctx, "the last relay", kindTo("relay", demoOla)); err != nil {
		return err
	}
	if _, err := d.expect(ctx, "Per's receipt", kindTo("receipt", demoPer)); err != nil {
		return err
	}
	c, err := d.caseState(1)
	if err != nil {
		return err
	}
	if c.Status != kp.StatusResolved {
		return fmt.Errorf("case 1 is %s at the end, not resolved", c.Status)
	}
	fmt.Fprintf(d.out, "\nThe case's timeline (kontaktpunkt case show 1):\n\n")
	return showCase(&env{cfg: d.srv.Config, st: d.srv.Store, g: d.srv.Gateway}, 1, false, d.out)
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	keep := fs.Bool("keep", false, "leave the servers running and print how to reach them")
	verbose := fs.Bool("v", false, "log what the program does")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("demo takes no arguments (got %q)", pos[0])
	}
	dir, err := os.MkdirTemp("", "kontaktpunkt-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	level := slog.LevelError
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	fmt.Fprintf(stdout, "kontaktpunkt demo: in-process IMAP and SMTP servers on 127.0.0.1, a temporary store in %s\n", dir)
	d, err := startDemo(ctx, dir, stdout, log)
	if err != nil {
		return err
	}
	playErr := d.play(ctx)
	if playErr == nil {
		fmt.Fprintf(stdout, "\nDone: %d mails delivered, the case was resolved.\n", len(d.world.Deliveries()))
	}
	if *keep && playErr == nil {
		d.printAccess(stdout)
		<-ctx.Done()
		fmt.Fprintln(stdout, "stopping")
	}
	if err := d.close(); err != nil && playErr == nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return playErr
}

func (d *demo) printAccess(w io.Writer) {
	fmt.Fprintf(w, "\nStill running (Ctrl-C stops it).\n")
	fmt.Fprintf(w, "  IMAP  %s (plain, loopback only)\n  SMTP  %s (AUTH PLAIN without TLS, loopback only)\n  HTTP  http://%s/  (the staff dashboard)\n\n", d.world.IMAPAddr, d.world.SMTPAddr, d.srv.HTTPAddr())
	fmt.Fprintf(w, "  %-26s %-12s %s\n", "address", "login", "password")
	for _, p := range d.world.People {
		fmt.Fprintf(w, "  %-26s %-12s %s\n", p.Addr, p.Login, p.Password)
	}
	host, port := splitHostPort(d.world.IMAPAddr)
	_, sport := splitHostPort(d.world.SMTPAddr)
	k := demoKari
	fmt.Fprintf(w, "\nRead and answer as Kari with mutt (any other person: change the login and password):\n"+
		"  mutt -n -f imap://%[1]s:%[2]s@%[3]s:%[4]d/INBOX -e 'set folder=imap://%[1]s:%[2]s@%[3]s:%[4]d/ from=\"%[6]s <%[7]s>\" "+
		"smtp_url=smtp://%[1]s:%[2]s@%[3]s:%[5]d/ ssl_starttls=no ssl_force_tls=no copy=no'\n",
		k.Login, k.Password, host, port, sport, k.Name, k.Addr)
	fmt.Fprintf(w, "Mail from Kari, Per, Frida or Liv sent with their login counts as authenticated staff mail;\nanything else is an ordinary requester.\n")
}
