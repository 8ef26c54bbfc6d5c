package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/smtp"
	"path/filepath"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"kontaktpunkt/internal/dovecottest"
	"kontaktpunkt/internal/smtptest"
)

// rowIMAP: a backlog of n messages in Dovecot's INBOX, taken by a plain
// go-imap client (FETCH 100 + MOVE 100), then, refilled, by `serve` until
// INBOX is empty and Processed (plus Quarantine) holds them all, then by
// the client again.
// serve's time runs from its start, so it includes starting up; it also
// queues and sends the acknowledgements as it goes (to an SMTP sink).
func (e *env) rowIMAP() ([]result, error) {
	dc, err := e.dovecot()
	if err != nil {
		return nil, err
	}
	sink, err := e.sink()
	if err != nil {
		return nil, err
	}
	msgs := e.mail("imap", e.o.n, time.Time{})

	// baseline, serve, baseline: the baseline is the mean of its two runs
	var bWall, bCPU time.Duration
	baseline := func(dest string) error {
		if err := e.t.try(func() { dc.WriteMaildir(e.t, "INBOX", msgs) }); err != nil {
			return err
		}
		e.logf("imap: baseline")
		cpu0, start := selfCPU(), time.Now()
		if err := imapBaseline(dc, dest); err != nil {
			return fmt.Errorf("baseline: %w", err)
		}
		bWall, bCPU = bWall+time.Since(start)/2, bCPU+(selfCPU()-cpu0)/2
		return nil
	}
	if err := baseline("BaselineOut1"); err != nil {
		return nil, err
	}

	if err := e.t.try(func() { dc.WriteMaildir(e.t, "INBOX", msgs) }); err != nil {
		return nil, err
	}
	cfg, _, err := e.kpStore("imap", servers{dc: dc, smtp: sink.Addr})
	if err != nil {
		return nil, err
	}
	probe, err := dialDovecot(dc)
	if err != nil {
		return nil, err
	}
	defer probe.Close()
	before := count(probe, "Processed") + count(probe, "Quarantine")
	e.logf("imap: serve")
	p, err := e.startServe(cfg, filepath.Join(filepath.Dir(cfg), "serve.log"))
	if err != nil {
		return nil, err
	}
	err = waitFor(30*time.Minute, p.exited, func() (bool, error) {
		return count(probe, "INBOX") == 0 && count(probe, "Processed")+count(probe, "Quarantine")-before >= e.o.n, nil
	})
	done := time.Since(p.start)
	sp := p.stop()
	if err != nil {
		return nil, fmt.Errorf("serve: %w\n%s", err, p.logTail())
	}
	if moved := count(probe, "Processed") + count(probe, "Quarantine") - before; moved != e.o.n {
		return nil, fmt.Errorf("serve moved %d messages out of INBOX, want exactly %d", moved, e.o.n)
	}
	if err := e.sameCases(cfg, msgs); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	if err := baseline("BaselineOut2"); err != nil {
		return nil, err
	}
	b, g := rate(e.o.n, bWall), rate(e.o.n, done)
	return []result{{
		row: "imap", measure: fmt.Sprintf("IMAP backlog of %d through `serve` vs FETCH 100 + MOVE 100 (msgs/s)", e.o.n),
		base: fmt.Sprintf("%.0f", b), got: fmt.Sprintf("%.0f", g), ratio: fmt.Sprintf("%.2f", g/b), target: "≥ 0.8",
		cpu: perMsg(bCPU, e.o.n) + " / " + perMsg(sp.cpu, e.o.n) + " µs/msg (client side)",
	}}, nil
}

func dialDovecot(dc *dovecottest.Server) (*imapclient.Client, error) {
	c, err := imapclient.DialInsecure(dc.Addr, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Login(dc.Username, dc.Password).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// count is the number of messages in mailbox; 0 if it does not exist.
func count(c *imapclient.Client, mailbox string) int {
	st, err := c.Status(mailbox, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || st.NumMessages == nil {
		return 0
	}
	return int(*st.NumMessages)
}

// imapBaseline empties INBOX into dest the plain way: FETCH the first 100
// messages whole, MOVE them, again.
func imapBaseline(dc *dovecottest.Server, dest string) error {
	c, err := dialDovecot(dc)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Create(dest, nil).Wait(); err != nil {
		return err
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		return err
	}
	body := []*imap.FetchItemBodySection{{Peek: true}}
	for left := int(sel.NumMessages); left > 0; {
		k := min(100, left)
		var set imap.SeqSet
		set.AddRange(1, uint32(k))
		msgs, err := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: body}).Collect()
		if err != nil {
			return err
		}
		if len(msgs) != k {
			return fmt.Errorf("fetched %d of %d", len(msgs), k)
		}
		if _, err := c.Move(set, dest).Wait(); err != nil {
			return err
		}
		left -= k
	}
	return nil
}

// rowOutbox: `serve` sending a queued outbox of at least -mails messages
// to an SMTP sink, beside the same messages sent raw over one connection
// to the same sink. The outbox is filled by `ingest` (without -quiet) of
// as many generated messages as it takes.
func (e *env) rowOutbox() ([]result, error) {
	dc, err := e.dovecot()
	if err != nil {
		return nil, err
	}
	sink, err := e.sink()
	if err != nil {
		return nil, err
	}
	cfg, db, err := e.kpStore("outbox", servers{dc: dc, smtp: sink.Addr})
	if err != nil {
		return nil, err
	}
	queued, n := 0, 0
	for round := 0; queued < e.o.mails; round++ {
		k := e.o.n
		if queued > 0 { // as many again as the mails so far took, and a tenth
			k = max(100, (e.o.mails-queued)*n/queued*11/10)
		}
		mdir, _, err := e.mailDir(fmt.Sprintf("outbox%d", round), k, time.Time{})
		if err != nil {
			return nil, err
		}
		if _, err := e.kp("ingest", "-config", cfg, mdir); err != nil {
			return nil, err
		}
		n += k
		if queued, err = queuedOutbound(db); err != nil {
			return nil, err
		}
		e.logf("outbox: %d messages ingested, %d mails queued", n, queued)
	}
	e.logf("outbox: serve")
	p, err := e.startServe(cfg, filepath.Join(filepath.Dir(cfg), "serve.log"))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	go func() {
		select {
		case <-p.exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	got, err := sink.WaitFor(ctx, queued)
	done := time.Since(p.start)
	sp := p.stop()
	if err != nil {
		return nil, fmt.Errorf("serve: %w\n%s", err, p.logTail())
	}
	if err := exactlyOnce(sink.Messages(), queued); err != nil {
		return nil, fmt.Errorf("serve: %w", err)
	}
	got = got[:queued]

	e.logf("outbox: baseline")
	cpu0, start := selfCPU(), time.Now()
	if err := smtpBaseline(sink.Addr, got); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	bWall, bCPU := time.Since(start), selfCPU()-cpu0
	b, g := rate(queued, bWall), rate(queued, done)
	return []result{{
		row: "outbox", measure: fmt.Sprintf("outbox of %d mails → SMTP sink via `serve` vs raw SMTP on one connection (mails/s)", queued),
		base: fmt.Sprintf("%.0f", b), got: fmt.Sprintf("%.0f", g), ratio: fmt.Sprintf("%.2f", g/b), target: "≥ 0.8",
		cpu: perMsg(bCPU, queued) + " / " + perMsg(sp.cpu, queued) + " µs/mail",
	}}, nil
}

// smtpBaseline sends msgs over one SMTP connection, envelope as received.
func smtpBaseline(addr string, msgs []smtptest.Message) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("bench.example.org"); err != nil {
		return err
	}
	for _, m := range msgs {
		if err := c.Mail(m.From); err != nil {
			return err
		}
		for _, to := range m.To {
			if err := c.Rcpt(to); err != nil {
				return err
			}
		}
		w, err := c.Data()
		if err != nil {
			return err
		}
		if _, err := w.Write(m.Data); err != nil {
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	return c.Quit()
}

// exactlyOnce checks that the sink received want mails, each Message-ID
// once: the outbox sent every queued mail and none twice.
func exactlyOnce(got []smtptest.Message, want int) error {
	seen := make(map[string]bool, len(got))
	for _, m := range got {
		id := string(messageID(m.Data))
		if id == "" {
			return errors.New("a mail without a Message-ID reached the sink")
		}
		if seen[id] {
			return fmt.Errorf("mail %s reached the sink twice", id)
		}
		seen[id] = true
	}
	if len(got) != want {
		return fmt.Errorf("the sink received %d mails, want exactly %d", len(got), want)
	}
	return nil
}

// sameCases checks that the store of cfg files msgs into the same cases,
// with the same requesters and subjects, as `ingest -quiet` of the same
// messages into an empty store does.
func (e *env) sameCases(cfg string, msgs [][]byte) error {
	dir := e.fresh("check")
	if _, err := writeMaildir(filepath.Join(dir, "Maildir"), msgs); err != nil {
		return err
	}
	refCfg, _, err := e.kpStore("check-ref", servers{})
	if err != nil {
		return err
	}
	if _, err := e.kp("ingest", "-quiet", "-config", refCfg, filepath.Join(dir, "Maildir")); err != nil {
		return err
	}
	if _, err := e.kp("check-store", "-config", cfg); err != nil {
		return err
	}
	want, err := e.caseKeys(refCfg)
	if err != nil {
		return err
	}
	got, err := e.caseKeys(cfg)
	if err != nil {
		return err
	}
	if len(got) != len(want) {
		return fmt.Errorf("%d cases, `ingest -quiet` of the same mail makes %d", len(got), len(want))
	}
	for k, n := range want {
		if got[k] != n {
			return fmt.Errorf("%d cases of %q, `ingest -quiet` of the same mail makes %d", got[k], k, n)
		}
	}
	return nil
}

// caseKeys counts the cases of the store of cfg by requester and subject.
func (e *env) caseKeys(cfg string) (map[string]int, error) {
	p, err := e.kp("cases", "-json", "-config", cfg)
	if err != nil {
		return nil, err
	}
	var cases []struct{ Requester, Subject string }
	if err := json.Unmarshal([]byte(p.stdout), &cases); err != nil {
		return nil, fmt.Errorf("reading `cases -json`: %w", err)
	}
	keys := make(map[string]int, len(cases))
	for _, c := range cases {
		keys[c.Requester+"\x00"+c.Subject]++
	}
	return keys, nil
}
