package imaptest

import (
	"bytes"
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards TCP connections from 127.0.0.1:0 to a target and can cut
// them all, either on demand or when a given string passes through.
type Proxy struct {
	// Addr is the proxy's listening address.
	Addr string

	target string
	ln     net.Listener

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	trigger *trigger
	accepts int
	served  int64 // bytes from the server
}

type trigger struct {
	fromServer bool
	substr     []byte
	fired      chan struct{}
}

// NewProxy starts a proxy to target that stops at the test's Cleanup.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("imaptest: proxy listen: %v", err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.Cut()
		wg.Wait()
	})
	return p
}

// Accepts counts the connections accepted so far.
func (p *Proxy) Accepts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepts
}

// Served counts the bytes the server has sent through the proxy so far.
func (p *Proxy) Served() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.served
}

// Cut closes every connection currently open through the proxy.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutLocked()
}

func (p *Proxy) cutLocked() {
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// CutOn arms a one-shot trigger: when substr next passes through (from the
// server when fromServer, else from the client), the bytes up to and
// including it are forwarded and then every connection is cut. The returned
// channel is closed when that happened.
func (p *Proxy) CutOn(fromServer bool, substr string) <-chan struct{} {
	tr := &trigger{fromServer: fromServer, substr: []byte(substr), fired: make(chan struct{})}
	p.mu.Lock()
	p.trigger = tr
	p.mu.Unlock()
	return tr.fired
}

func (p *Proxy) serve(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	p.accepts++
	p.conns[client] = struct{}{}
	p.conns[server] = struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { p.pipe(client, server, true); done <- struct{}{} }()
	go func() { p.pipe(server, client, false); done <- struct{}{} }()
	<-done
	client.Close()
	server.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

// pipe copies src to dst, watching for the armed trigger. The tail of the
// previous read is kept so a string split across reads is still seen.
func (p *Proxy) pipe(dst, src net.Conn, fromServer bool) {
	buf := make([]byte, 32*1024)
	var tail []byte
	for {
		n, err := src.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			p.mu.Lock()
			if fromServer {
				p.served += int64(n)
			}
			tr := p.trigger
			if tr != nil && tr.fromServer == fromServer {
				window := append(append([]byte(nil), tail...), chunk...)
				if i := bytes.Index(window, tr.substr); i >= 0 {
					end := i + len(tr.substr) - len(tail)
					if end > 0 {
						dst.Write(chunk[:end])
					}
					p.trigger = nil
					p.cutLocked()
					close(tr.fired)
					p.mu.Unlock()
					return
				}
				keep := min(len(tr.substr)-1, len(window))
				tail = append(tail[:0], window[len(window)-keep:]...)
			}
			p.mu.Unlock()
			if _, werr := dst.Write(chunk); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				return
			}
			return
		}
	}
}
