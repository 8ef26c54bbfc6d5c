package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"kontaktpunkt/config"
	"kontaktpunkt/gateway"
)

// The admin endpoint: while serve holds the store, the offline commands
// reach it through a Unix socket beside the store file, readable by the
// store's owner only. It runs the very same command code on serve's store,
// so the commands behave the same either way.

func adminSocket(cfg *config.Config) string { return cfg.Store.Path + ".sock" }

type adminRun struct {
	Args []string `json:"args"`
}

type adminRunReply struct {
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	Code   int    `json:"code"`
	Error  string `json:"error"`
}

type adminIngest struct {
	Items []gateway.Item `json:"items"`
	Quiet bool           `json:"quiet"`
}

// adminHandler serves the admin API on serve's env.
func adminHandler(e *env, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /run", func(w http.ResponseWriter, r *http.Request) {
		var req adminRun
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Args) == 0 {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var stdout, stderr bytes.Buffer
		err := runOffline(r.Context(), req.Args[0], req.Args[1:], &stdout, func(*config.Config, bool) (*env, func(), error) {
			return e, func() {}, nil
		}, &stderr)
		if err != nil && e.damaged != nil {
			e.damaged(err)
		}
		code := exitCode(err, &stderr)
		log.Info("admin command", "command", req.Args[0], "exit", code)
		_ = json.NewEncoder(w).Encode(adminRunReply{Stdout: stdout.String(), Stderr: stderr.String(), Code: code})
	})
	mux.HandleFunc("POST /ingest", func(w http.ResponseWriter, r *http.Request) {
		var req adminIngest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		g := *e.g
		g.Quiet = req.Quiet
		results, err := g.Ingest(r.Context(), req.Items)
		if msg := storeDamage(err); msg != "" {
			// Permanent: the client exits 1, not 75 (an MTA would retry
			// forever), and serve stops.
			if e.damaged != nil {
				e.damaged(err)
			}
			http.Error(w, msg, http.StatusUnprocessableEntity)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(results)
	})
	return mux
}

// listenAdmin opens the admin socket, replacing a stale one.
func listenAdmin(cfg *config.Config) (net.Listener, error) {
	path := adminSocket(cfg)
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("admin socket %s is in use by another serve", path)
	}
	_ = os.Remove(path)
	old := umask(0o077)
	l, err := net.Listen("unix", path)
	umask(old)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return l, nil
}

type adminClient struct {
	http *http.Client
}

// adminClientFor returns a client of a running serve's admin socket, or
// nil when there is none.
func adminClientFor(cfg *config.Config) *adminClient {
	path := adminSocket(cfg)
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	return &adminClient{http: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}}
}

func (c *adminClient) post(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://admin"+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("the store is in use and its serve does not answer on the admin socket: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnprocessableEntity {
		// serve's store is damaged; the body is the message to show.
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return remoteExit{code: exitUser, stderr: "kontaktpunkt: " + string(bytes.TrimSpace(msg)) + "\n"}
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("serve's admin endpoint: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// run hands a whole command line to serve and relays its output.
func (c *adminClient) run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var reply adminRunReply
	if err := c.post(ctx, "/run", adminRun{Args: args}, &reply); err != nil {
		return err
	}
	io.WriteString(stdout, reply.Stdout)
	if reply.Code != exitOK {
		return remoteExit{code: reply.Code, stderr: reply.Stderr}
	}
	io.WriteString(stderr, reply.Stderr)
	return nil
}

func (c *adminClient) ingest(ctx context.Context, items []gateway.Item, quiet bool) ([]gateway.Result, error) {
	var results []gateway.Result
	err := c.post(ctx, "/ingest", adminIngest{Items: items, Quiet: quiet}, &results)
	return results, err
}

// remoteExit is a non-zero exit of a command run by serve.
type remoteExit struct {
	code   int
	stderr string
}

func (e remoteExit) Error() string { return e.stderr }
