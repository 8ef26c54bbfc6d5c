// Command kontaktpunkt is the e-mail gateway of a contact point: it turns
// mail to the contact address into cases, relays the conversation between
// requester and responsible parties, and follows up until cases are
// resolved. This package only wires the others together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"kontaktpunkt/config"
	"kontaktpunkt/gateway"
	"kontaktpunkt/store"
)

// Exit statuses (docs/behaviour.md, Command line).
const (
	exitOK        = 0
	exitUser      = 1
	exitTemporary = 75 // EX_TEMPFAIL: an MTA piping to ingest retries later
)

// userError is a mistake the user can fix; its message names what to fix.
type userError struct{ msg string }

func (e userError) Error() string { return e.msg }

func usageErr(format string, args ...any) error { return userError{fmt.Sprintf(format, args...)} }

// defaultMemoryLimit is the soft heap limit unless GOMEMLIMIT says
// otherwise: the garbage collector then returns the buffers of a large
// message (25 MB with attachments) before the next one is read, which
// keeps the peak resident size of ingest and serve well under 128 MiB.
const defaultMemoryLimit = 64 << 20

// serveGCPercent is serve's GOGC unless the environment sets one. While
// a backlog drains, serve's live heap is small (15-20 MB) and it
// allocates some 150 KB per message: at the default of 100 the collector
// ran every few megabytes, over a hundred times per 10,000 messages, and
// its work and the preemptions it causes took a tenth of the CPU. The
// soft limit (defaultMemoryLimit) still bounds the heap.
const serveGCPercent = 400

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stopProfile := startCPUProfile(os.Getenv("KP_CPUPROFILE"), os.Stderr)
	code := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	stopProfile()
	os.Exit(code)
}

// startCPUProfile writes a CPU profile of the whole run to path when it is
// set (KP_CPUPROFILE, for measuring a command as an operator runs it, see
// CONTRIBUTING.md); the returned function ends it.
func startCPUProfile(path string, stderr io.Writer) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		if err = pprof.StartCPUProfile(f); err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "kontaktpunkt: KP_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

const usage = `usage: kontaktpunkt COMMAND [flags] [args]

  serve        [-config FILE]                 intake, outbox, follow-up and HTTP until SIGINT/SIGTERM
  demo         [-keep]                        a scripted conversation on in-process IMAP and SMTP servers
  ingest       [-config FILE] [-db FILE] [-quiet] [-json] PATH... | -
  cases        [-config FILE] [-db FILE] [-status S] [-assignee A] [-limit N [-page P]] [-json]
  case show N  [-json]  |  case assign N WHO  |  case status N S  |  case note N TEXT
  case suggest N [-json]  |  case suggest -replay [LAST] [-json]  |  case suggest -reindex
  outbox       [-json]  |  outbox retry ID
  search       [-config FILE] [-db FILE] [-json] QUERY | search -reindex   words (prefixes), status: team: from: after: before:
  check-config -config FILE
  check-store  [-config FILE] [-db FILE] [-json]   read-only check of the store file and its indexes
  backup       [-config FILE] [-db FILE] OUT
  compact      [-config FILE] [-db FILE] OUT     compacted copy of the store; swap it in with serve stopped
  purge        [-config FILE] [-db FILE] [-dry-run] [-json]   apply the retention periods now
  forget       [-config FILE] [-db FILE] [-dry-run] [-thorough] [-json] ADDRESS   erase a person: pseudonym, mail purged
  export-person [-config FILE] [-db FILE] ADDRESS OUT   every case and message of an address (access request)
  case export N OUT  |  case archived N REF   archive export; record the archive's reference
  audit        [-config FILE] [-db FILE] [-json]   staff and operator actions
  followup rearm [-since DATE] [-dry-run]     arm follow-ups of open cases an archive import left unarmed
  report       [-config FILE|-db FILE] [-from DATE] [-to DATE] [-team NAME] [-json|-csv]   figures in business time
  version                                     print the version
  help         [CMD]                          a command's usage, flags and examples (also CMD -h)
`

// Run runs one command and returns its exit status. Tests call it directly.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUser
	}
	if isHelpFlag(args[0]) {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "help":
		err = cmdHelp(func(a []string) int { return Run(ctx, a, stdin, stdout, stderr) }, rest, stdout)
	case "version", "-version", "--version":
		err = cmdVersion(rest, stdout)
	case "serve":
		err = cmdServe(ctx, rest, stdout, stderr)
	case "demo":
		err = cmdDemo(ctx, rest, stdout, stderr)
	case "ingest":
		err = cmdIngest(ctx, rest, stdin, stdout, stderr)
	case "cases", "case", "outbox", "backup", "followup", "report", "search":
		err = cmdOffline(ctx, cmd, rest, stdout, stderr)
	case "compact", "forget", "purge", "audit", "export-person":
		err = cmdOffline(ctx, cmd, rest, stdout, stderr)
	case "check-config":
		err = cmdCheckConfig(rest, stdout)
	case "check-store":
		err = cmdCheckStore(ctx, rest, stdout, stderr)
	default:
		err = usageErr("unknown command %q; run kontaktpunkt help", cmd)
	}
	var hr helpRequest
	if errors.As(err, &hr) {
		printRequestedHelp(hr, stdout)
		return exitOK
	}
	return exitCode(err, stderr)
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var re remoteExit
	if errors.As(err, &re) {
		fmt.Fprint(stderr, re.stderr)
		return re.code
	}
	var ue userError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "kontaktpunkt:", oneLine(ue.msg))
		return exitUser
	}
	var ce configError
	if errors.As(err, &ce) {
		problems := ce.err
		var fe *config.FileError
		if errors.As(problems, &fe) {
			fmt.Fprintf(stderr, "kontaktpunkt: configuration problems in %s:\n", fe.Path)
			problems = fe.Err
		} else {
			fmt.Fprintln(stderr, "kontaktpunkt: configuration problems:")
		}
		fmt.Fprintln(stderr, indent(problems.Error()))
		return exitUser
	}
	var dr damagedReport
	if errors.As(err, &dr) {
		fmt.Fprintln(stderr, "kontaktpunkt:", dr.Error())
		return exitUser
	}
	if msg := storeDamage(err); msg != "" {
		fmt.Fprintln(stderr, "kontaktpunkt:", msg)
		return exitUser
	}
	if errors.Is(err, store.ErrInUse) {
		fmt.Fprintln(stderr, "kontaktpunkt:", oneLine(err.Error()))
		return exitTemporary
	}
	fmt.Fprintln(stderr, "kontaktpunkt:", oneLine(err.Error()))
	return exitTemporary
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

func indent(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := range lines {
		lines[i] = "  " + lines[i]
	}
	return strings.Join(lines, "\n")
}

// configError carries all configuration problems at once.
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

// parseFlags parses flags that may stand before or after positional
// arguments ("case show 42 -json") and returns the positional ones.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, helpRequest{fs: fs, pos: pos}
			}
			return nil, usageErr("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "-" { // stdin as a positional argument
			pos = append(pos, "-")
			args = args[1:]
			continue
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// commonFlags are the flags every offline command takes.
type commonFlags struct {
	config string
	db     string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", "", "configuration `FILE`")
	fs.StringVar(&c.db, "db", "", "store `FILE` (lets the command run without a configuration file)")
}

// load reads the configuration: the file if given, else defaults (which is
// enough for offline commands given -db). -db overrides store.path.
func (c *commonFlags) load() (*config.Config, error) {
	var cfg *config.Config
	if c.config != "" {
		var err error
		if cfg, err = loadConfig(c.config); err != nil {
			return nil, err
		}
	} else {
		if c.db == "" {
			return nil, usageErr("give -config FILE or -db FILE")
		}
		cfg = config.Default()
	}
	if c.db != "" {
		cfg.Store.Path = c.db
	}
	return cfg, nil
}

// openStore opens the store, failing at once if another process holds it.
func openStore(cfg *config.Config) (*store.Store, error) { return openStoreMode(cfg, false) }

// openStoreMode opens the store for writing, or read-only under a lock
// shared with other readers.
func openStoreMode(cfg *config.Config, readOnly bool) (*store.Store, error) {
	if readOnly {
		if _, err := os.Stat(cfg.Store.Path); err != nil {
			return nil, usageErr("no store at %s", cfg.Store.Path)
		}
	}
	// store.Open's errors already name the file ("opening PATH: …").
	return store.Open(cfg.Store.Path, store.Options{ReadOnly: readOnly})
}

// newLogger builds the slog logger the configuration asks for.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	switch cfg.Log.Level {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: readableDuration}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// readableDuration writes durations as "1.5s" or "25m0s" rather than as
// integer nanoseconds (slog's JSON form), rounded to the millisecond.
func readableDuration(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		d := a.Value.Duration()
		if d >= time.Millisecond || d <= -time.Millisecond {
			d = d.Round(time.Millisecond)
		}
		a.Value = slog.StringValue(d.String())
	}
	return a
}

func cmdCheckConfig(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("check-config", flag.ContinueOnError)
	path := fs.String("config", "", "configuration `FILE`")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *path == "" && len(pos) == 1 {
		*path = pos[0]
	}
	if *path == "" {
		return usageErr("check-config needs -config FILE")
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	if err := cfg.CheckFiles(); err != nil {
		return configError{err}
	}
	if _, err := gateway.New(cfg, nil, nil); err != nil {
		return configError{err}
	}
	fmt.Fprintf(stdout, "%s: ok (contact %s, %d staff, %d teams, %d routing rules)\n",
		*path, cfg.Contact.Address, len(cfg.Staff.Members), len(cfg.Teams), len(cfg.Routing))
	return nil
}

// loadConfig loads a configuration file; a missing file is a user error,
// every problem in it a configError.
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, usageErr("configuration file %s does not exist", path)
		}
		return nil, configError{err}
	}
	return cfg, nil
}
