package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	kp "kontaktpunkt"
	"kontaktpunkt/config"
	"kontaktpunkt/gateway"
	"kontaktpunkt/mailbox/imapintake"
	"kontaktpunkt/mailbox/oauthsasl"
	"kontaktpunkt/mailbox/smtpclient"
	"kontaktpunkt/store"
	"kontaktpunkt/web"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE`")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("serve takes no arguments (got %q)", pos[0])
	}
	if *path == "" {
		return usageErr("serve needs -config FILE (see config.example.yaml)")
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	if err := cfg.CheckFiles(); err != nil {
		return configError{err}
	}
	s, err := NewServer(cfg, newLogger(cfg, stderr))
	if err != nil {
		return err
	}
	if err := s.Open(); err != nil {
		return err // one line saying why, nothing logged before it
	}
	defer s.Close()
	s.Log.Info("kontaktpunkt starting", "version", buildVersion(), "go", runtime.Version(), "config", *path)
	return s.Run(ctx)
}

// Server is the whole running program: intake, outbox, follow-up, HTTP
// and the admin socket under one lifecycle. Tests start it on :0 ports.
type Server struct {
	Config  *config.Config
	Log     *slog.Logger
	Store   *store.Store
	Gateway *gateway.Gateway
	Poller  *imapintake.Poller
	Senders []*smtpclient.Sender
	// Now, if set before Open, is the gateway's clock (the demo speeds it up).
	Now func() time.Time

	httpLn  net.Listener
	adminLn net.Listener
	wakeOut chan struct{}
	wakeFU  chan struct{}
	ready   chan struct{}
	damaged chan error // the store turned out damaged while serving
	once    sync.Once
	started time.Time // when Run began, on the gateway's clock
}

// NewServer prepares a server; Open acquires its resources.
func NewServer(cfg *config.Config, log *slog.Logger) (*Server, error) {
	return &Server{Config: cfg, Log: log, wakeOut: make(chan struct{}, 1), wakeFU: make(chan struct{}, 1), ready: make(chan struct{}), damaged: make(chan error, 1)}, nil
}

// HTTPAddr is the address the HTTP server listens on, once Open returned.
func (s *Server) HTTPAddr() string {
	if s.httpLn == nil {
		return ""
	}
	return s.httpLn.Addr().String()
}

// Open opens the store, the listeners and the clients. Nothing runs yet.
func (s *Server) Open() error {
	cfg := s.Config
	st, err := openStore(cfg)
	if err == nil {
		// Open reads only the header pages; a damaged page deeper in
		// would fail every transaction that reaches it, so look first.
		if err = st.CheckPages(); err != nil {
			st.Close()
		}
	}
	if err != nil {
		if storeDamage(err) != "" {
			return fmt.Errorf("serve not started: %w", err)
		}
		return err
	}
	s.Store = st
	g, err := gateway.New(cfg, st, s.Log)
	if err != nil {
		st.Close()
		return configError{err}
	}
	if s.Now != nil {
		g.Now = s.Now
	}
	g.Wake = func() {
		select {
		case s.wakeOut <- struct{}{}:
		default:
		}
		select {
		case s.wakeFU <- struct{}{}:
		default:
		}
	}
	s.Gateway = g

	if cfg.IMAP.Host != "" {
		icfg, err := imapConfig(cfg)
		if err != nil {
			s.Close()
			return configError{err}
		}
		s.Poller = imapintake.NewPoller(icfg, damageSink{g.Sink(), s.storeDamaged}, s.Log.With("component", "imap"))
		if s.Now != nil {
			s.Poller.Now = s.Now // /healthz compares the poller's times with this clock
		}
	}
	if cfg.SMTP.Host != "" {
		scfg, err := smtpConfig(cfg)
		if err != nil {
			s.Close()
			return configError{err}
		}
		s.Senders = smtpclient.NewSenders(scfg, cfg.SMTP.Connections, s.Log.With("component", "smtp"))
	}
	if cfg.HTTPEnabled() {
		s.httpLn, err = net.Listen("tcp", cfg.HTTP.Listen)
		if err != nil {
			s.Close()
			return fmt.Errorf("http listen %s: %w", cfg.HTTP.Listen, err)
		}
	}
	s.adminLn, err = listenAdmin(cfg)
	if err != nil {
		s.Close()
		return err
	}
	return nil
}

// Ready is closed once Run has started every worker.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Run runs every part until ctx ends, then stops taking new work, lets the
// parts finish what they have in hand and returns. Close the store after.
func (s *Server) Run(ctx context.Context) error {
	log := s.Log
	// Everything that can fail on configuration fails before a worker starts.
	var h http.Handler
	if s.httpLn != nil {
		proxies, err := trustedProxies(s.Config.HTTP.TrustedProxies)
		if err != nil {
			return configError{err}
		}
		h, err = web.New(web.Options{
			Store: s.Store, TagPrefix: s.Config.Contact.TagPrefix, ContactName: s.Config.Contact.Name, ContactAddress: s.Config.Contact.Address,
			Health: s.health, IMAPReconnects: s.imapReconnects,
			AuthFile: s.Config.HTTP.AuthFile, TrustedHeader: s.Config.HTTP.TrustedHeader, TrustedProxies: proxies,
			IMAPGrace:   time.Duration(s.Config.HTTP.IMAPGrace),
			RequireAuth: !isLoopbackListen(s.httpLn.Addr()), Now: s.Gateway.Now, Location: s.Gateway.Clock.Loc, Log: log.With("component", "http"),
			Quotes:  s.Gateway.Templates.Trimmer(),
			Version: buildVersion(),
			Report:  s.Gateway.Report,
			SuggestReplay: func(n int) (web.SuggestReplay, error) {
				var r gateway.Replay
				err := s.Store.View(func(tx *store.Tx) error {
					var err error
					r, err = gateway.ReplaySuggestions(tx, n)
					return err
				})
				return web.SuggestReplay{Cases: r.Cases, Right: r.Right, NoSuggestion: r.NoSuggestion}, err
			},
			Actions: gateway.WebActions{Gateway: s.Gateway}, IsStaff: s.Gateway.Dir.IsStaff, FollowUpPlan: webPlan(s.Gateway),
			Language: s.Gateway.Templates.Lang(),
		})
		if err != nil {
			return configError{err}
		}
	}
	s.started = s.Gateway.Now()
	grp, gctx := errgroup.WithContext(ctx)
	if s.Poller != nil {
		grp.Go(func() error { return recovered(log, "imap", func() error { return s.Poller.Run(gctx) }) })
	}
	if len(s.Senders) > 0 {
		senders := make([]gateway.Sender, len(s.Senders))
		for i, sd := range s.Senders {
			senders[i] = sd
		}
		grp.Go(func() error {
			return recovered(log, "outbox", func() error { return s.Gateway.RunOutbox(gctx, senders, s.wakeOut) })
		})
	}
	if s.Config.FollowUpEnabled() {
		grp.Go(func() error {
			return recovered(log, "followup", func() error { return s.Gateway.RunFollowUps(gctx, s.wakeFU) })
		})
	}
	var servers []*http.Server
	if s.httpLn != nil {
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		grp.Go(func() error { return serveHTTP(srv, s.httpLn) })
		log.Info("http listening", "addr", s.httpLn.Addr().String())
	}
	if s.adminLn != nil {
		e := &env{cfg: s.Config, st: s.Store, g: s.Gateway, damaged: s.storeDamaged}
		srv := &http.Server{Handler: adminHandler(e, log.With("component", "admin")), ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		grp.Go(func() error { return serveHTTP(srv, s.adminLn) })
	}
	grp.Go(func() error {
		<-gctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, srv := range servers {
			_ = srv.Shutdown(shutdownCtx)
		}
		return nil
	})
	grp.Go(func() error {
		select {
		case err := <-s.damaged:
			log.Error("the store is damaged; stopping", "err", err)
			return fmt.Errorf("serve stopped: %w", err)
		case <-gctx.Done():
			return nil
		}
	})
	log.Info("serving", "contact", s.Config.Contact.Address, "store", s.Config.Store.Path,
		"imap", s.Poller != nil, "smtp", len(s.Senders) > 0, "smtp_connections", len(s.Senders))
	close(s.ready)
	err := grp.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	log.Info("stopped")
	return err
}

// Close releases what Open acquired. It is safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		for _, sd := range s.Senders {
			sd.Close()
		}
		if s.httpLn != nil {
			s.httpLn.Close()
		}
		if s.adminLn != nil {
			s.adminLn.Close()
			os.Remove(adminSocket(s.Config))
		}
		if s.Store != nil {
			err = s.Store.Close()
		}
	})
	return err
}

func serveHTTP(srv *http.Server, ln net.Listener) error {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// recovered runs a worker and turns a panic into an error, so one broken
// part stops the program cleanly instead of killing it mid-transaction.
func recovered(log *slog.Logger, name string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			log.Error("worker panicked", "worker", name, "panic", r)
			err = fmt.Errorf("%s: panic: %v", name, r)
		}
	}()
	return fn()
}

func (s *Server) health() web.Health {
	h := web.Health{StoreOK: true, IMAPConfigured: s.Poller != nil}
	if s.Poller != nil {
		pollerHealth(&h, s.Poller.Status(), s.started)
	}
	err := s.Store.View(func(tx *store.Tx) error {
		os, err := tx.OutboxStats()
		h.OutboxOldest = os.Oldest
		return err
	})
	if err != nil {
		h.StoreOK = false
		s.storeDamaged(err)
	}
	return h
}

// pollerHealth fills the IMAP part of h from the poller's status. Intake
// counts as down since the session was lost, or since started when no
// session has connected yet; a connected session carries no error.
func pollerHealth(h *web.Health, st imapintake.PollerStatus, started time.Time) {
	h.IMAPConnected = st.Connected
	h.IMAPLastSync = st.LastSync
	if st.Connected {
		return
	}
	h.IMAPDownSince = st.Since
	if h.IMAPDownSince.IsZero() {
		h.IMAPDownSince = started
	}
	h.IMAPError = st.LastError
	if st.AuthError != "" {
		h.IMAPError, h.IMAPAuthFailed = st.AuthError, true
	}
}

func (s *Server) imapReconnects() int {
	if s.Poller == nil {
		return 0
	}
	return s.Poller.Status().Reconnects
}

// trustedProxies parses http.trusted_proxies.
func trustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, p := range list {
		pr, err := config.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("http.trusted_proxies[%d]: %w", i, err)
		}
		out = append(out, pr)
	}
	return out, nil
}

func isLoopbackListen(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

func tlsConfig(host, caFile string, insecure bool) (*tls.Config, error) {
	tc := &tls.Config{ServerName: host, InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no certificates", caFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

func imapConfig(cfg *config.Config) (imapintake.IMAPConfig, error) {
	c := cfg.IMAP
	tc, err := tlsConfig(c.Host, c.CAFile, c.InsecureSkipVerify)
	if err != nil {
		return imapintake.IMAPConfig{}, fmt.Errorf("imap.%w", err)
	}
	ic := imapintake.IMAPConfig{
		Addr: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), Security: c.Security, Username: c.Username,
		Mailbox: c.Mailbox, Processed: c.Processed, Quarantine: c.Quarantine,
		PollInterval: time.Duration(c.PollInterval), IdleRestart: time.Duration(c.IdleRestart),
		BatchSize: c.BatchSize, TLSConfig: tc,
	}
	ic.MaxMessageBytes = cfg.Limits.MaxMessageBytes
	if c.OAuth2 != nil {
		if ic.OAuth2, err = oauth2Config("imap.oauth2", c.OAuth2); err != nil {
			return ic, err
		}
	} else if ic.Password, err = secretValue(c.Password); err != nil {
		return ic, fmt.Errorf("imap.password: %w", err)
	}
	return ic, nil
}

func smtpConfig(cfg *config.Config) (smtpclient.SMTPConfig, error) {
	c := cfg.SMTP
	tc, err := tlsConfig(c.Host, c.CAFile, c.InsecureSkipVerify)
	if err != nil {
		return smtpclient.SMTPConfig{}, fmt.Errorf("smtp.%w", err)
	}
	sc := smtpclient.SMTPConfig{
		Addr: net.JoinHostPort(c.Host, strconv.Itoa(c.Port)), Security: c.Security, Username: c.Username,
		HeloName: c.HeloName, TLSConfig: tc, Timeout: time.Duration(c.Timeout),
	}
	if c.OAuth2 != nil {
		if sc.OAuth2, err = oauth2Config("smtp.oauth2", c.OAuth2); err != nil {
			return sc, err
		}
	} else if sc.Password, err = secretValue(c.Password); err != nil {
		return sc, fmt.Errorf("smtp.password: %w", err)
	}
	return sc, nil
}

// oauth2Config reads the secrets of an oauth2 section (path names it).
func oauth2Config(path string, o *config.OAuth2) (*oauthsasl.OAuth2Config, error) {
	oc := &oauthsasl.OAuth2Config{TokenURL: o.TokenURL, ClientID: o.ClientID, Scopes: o.Scopes, Mechanism: o.Mechanism}
	var err error
	if oc.ClientSecret, err = secretValue(o.ClientSecret); err != nil {
		return nil, fmt.Errorf("%s.client_secret: %w", path, err)
	}
	if oc.RefreshToken, err = secretValue(o.RefreshToken); err != nil {
		return nil, fmt.Errorf("%s.refresh_token: %w", path, err)
	}
	return oc, nil
}

func secretValue(s config.Secret) (string, error) {
	if !s.IsSet() {
		return "", nil
	}
	return s.Value()
}

// storeDamaged stops Run with err when err says the store is damaged:
// no transaction that reaches the damage can succeed, so serving on would
// only fail every message again (IMAP reconnecting in a loop) while the
// store needs restoring.
func (s *Server) storeDamaged(err error) {
	if storeDamage(err) == "" {
		return
	}
	select {
	case s.damaged <- err:
	default:
	}
}

// damageSink is the intake sink that tells the server when the store
// turns out damaged.
type damageSink struct {
	imapintake.Sink
	damaged func(error)
}

func (d damageSink) Cursor(ctx context.Context, mbox string) (kp.Cursor, bool, error) {
	c, ok, err := d.Sink.Cursor(ctx, mbox)
	if err != nil {
		d.damaged(err)
	}
	return c, ok, err
}

func (d damageSink) Deliver(ctx context.Context, cur kp.Cursor, msgs []imapintake.Fetched) ([]imapintake.Disposition, error) {
	disp, err := d.Sink.Deliver(ctx, cur, msgs)
	if err != nil {
		d.damaged(err)
	}
	return disp, err
}

// Prepare passes a fetched batch on to be prepared when the sink
// prepares batches (imapintake.Preparer); its delivery reports damage too.
func (d damageSink) Prepare(mailbox string, uidValidity uint32, msgs []imapintake.Fetched) imapintake.Prepared {
	pr, ok := d.Sink.(imapintake.Preparer)
	if !ok {
		return damagePrepared{deliver: func(ctx context.Context, cur kp.Cursor) ([]imapintake.Disposition, error) {
			return d.Sink.Deliver(ctx, cur, msgs)
		}, damaged: d.damaged}
	}
	return damagePrepared{deliver: pr.Prepare(mailbox, uidValidity, msgs).Deliver, damaged: d.damaged}
}

// damagePrepared is a prepared batch whose delivery reports damage.
type damagePrepared struct {
	deliver func(ctx context.Context, cur kp.Cursor) ([]imapintake.Disposition, error)
	damaged func(error)
}

func (d damagePrepared) Deliver(ctx context.Context, cur kp.Cursor) ([]imapintake.Disposition, error) {
	disp, err := d.deliver(ctx, cur)
	if err != nil {
		d.damaged(err)
	}
	return disp, err
}
