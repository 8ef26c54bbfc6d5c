package gateway

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	kp "kontaktpunkt"
)

// convMail is one generated message of a conversation.
type convMail struct {
	conv int
	raw  []byte
	// reply is false for the message that should open the case.
	reply bool
}

// evalPrefixes are reply prefixes as clients in many languages write them.
var evalPrefixes = []string{"Re: ", "RE: ", "Sv: ", "SV: ", "VS: ", "AW: ", "WG: ", "Antw: ", "Odp: ", "R: ", "TR: ", "Fwd: ", "FW: ",
	"Re[2]: ", "Re^2: ", "Re: RE: ", "SV: SV: ", "AW: Re: ", "=?utf-8?q?SV=3A?= "}

// evalConversations generates mail the way it arrives: n conversations
// between a requester and sometimes a Cc'd colleague, over a small pool of
// people and subjects (so subjects collide across people), replies with
// full headers, with none (Sent folders, old Exchange), parents arriving
// after their replies, replies to a parent never received, and strangers
// sending a reply-prefixed mail with someone else's subject. Messages of
// different conversations are interleaved.
func evalConversations(seed uint64, n int) []convMail {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	first := []string{"Ola", "Kari", "Per", "Ingrid", "Nils", "Sara", "Liv", "Tor", "Anne", "Jonas", "Hanne", "Mette", "Ali", "Eva", "Bjørn", "Åse"}
	last := []string{"Nordmann", "Hansen", "Berg", "Lie", "Dahl", "Moe", "Strand", "Holm", "Vik", "Solberg"}
	orgs := []string{"kommune.example", "ntnu.example", "uib.example", "hvl.example", "partner.example"}
	person := func() kp.Address {
		f, l := first[rng.IntN(len(first))], last[rng.IntN(len(last))]
		return kp.Address{Name: f + " " + l, Addr: strings.ToLower(strings.NewReplacer("ø", "o", "å", "a").Replace(f+"."+l)) + "@" + orgs[rng.IntN(len(orgs))]}
	}
	subjects := []string{"Tilgang", "Tilgang til FS", "Spørsmål om API", "Eksport av emnedata", "Feil i integrasjonen", "Ny rapport",
		"Overgang til ny IdP", "Databehandleravtale", "Testmiljø", "Canvas-data", "Karakteroverføring", "Purring", "Access", "Data export", "SSO"}
	var queues [][]convMail
	for ci := 0; ci < n; ci++ {
		req, cc := person(), person()
		withCc := rng.IntN(2) == 0
		subj := subjects[rng.IntN(len(subjects))]
		id := func(k int) string {
			return fmt.Sprintf("c%d-%d-%d@%s", seed, ci, k, strings.SplitN(req.Addr, "@", 2)[1])
		}
		mk := func(k int, from kp.Address, to, ccs []string, subject string, inReplyTo string, body string) []byte {
			h := []string{"From: " + from.String(), "To: " + strings.Join(to, ", "), "Subject: " + subject, "Message-ID: <" + id(k) + ">",
				fmt.Sprintf("Date: Tue, 1 Dec 2026 %02d:%02d:00 +0100", 8+k, rng.IntN(60))}
			if len(ccs) > 0 {
				h = append(h, "Cc: "+strings.Join(ccs, ", "))
			}
			if inReplyTo != "" {
				h = append(h, "In-Reply-To: <"+inReplyTo+">", "References: <"+inReplyTo+">")
			}
			return msg(h, body)
		}
		var q []convMail
		switch shape := rng.IntN(10); {
		case shape == 0: // a stranger's reply-prefixed mail with a common subject
			q = append(q, convMail{conv: ci, raw: mk(0, req, []string{contact}, nil, evalPrefixes[rng.IntN(len(evalPrefixes))]+subj, "", "Jeg har et eget spørsmål.\n")})
		case shape == 1: // two reply-alls to a parent the contact address never got
			author := person()
			ccs := []string{contact, cc.Addr}
			q = append(q, convMail{conv: ci, raw: mk(1, req, []string{author.Addr}, ccs, "SV: "+subj, id(0), "Enig.\n")})
			q = append(q, convMail{conv: ci, reply: true, raw: mk(2, cc, []string{author.Addr}, []string{contact, req.Addr}, "SV: "+subj, id(0), "Også enig.\n")})
		default:
			var ccs []string
			if withCc {
				ccs = []string{cc.Addr}
			}
			q = append(q, convMail{conv: ci, raw: mk(0, req, []string{contact}, ccs, subj, "", "Hei, vi lurer på noe om "+subj+".\n")})
			replies := 1 + rng.IntN(6)
			for k := 1; k <= replies; k++ {
				from := req
				if withCc && rng.IntN(2) == 0 {
					from = cc
				}
				parent := ""
				if rng.IntN(2) == 0 {
					parent = id(k - 1)
				}
				q = append(q, convMail{conv: ci, reply: true, raw: mk(k, from, []string{contact}, nil, evalPrefixes[rng.IntN(len(evalPrefixes))]+subj, parent, fmt.Sprintf("Tillegg nummer %d.\n", k))})
			}
			if shape == 2 && len(q) > 1 && bytesContains(q[1].raw, "In-Reply-To") {
				// The parent is greylisted and arrives after its reply.
				q[0], q[1] = q[1], q[0]
			}
		}
		queues = append(queues, q)
	}
	// Interleave: repeatedly take the next message of a random conversation.
	var out []convMail
	for len(queues) > 0 {
		i := rng.IntN(len(queues))
		out = append(out, queues[i][0])
		if queues[i] = queues[i][1:]; len(queues[i]) == 0 {
			queues = append(queues[:i], queues[i+1:]...)
		}
	}
	return out
}

func bytesContains(b []byte, s string) bool { return strings.Contains(string(b), s) }

// TestThreadingOnMailAsItArrives ingests generated conversations and checks
// the bar: no case ever holds two conversations, and at least 95% of the
// messages of each conversation end up in the case of its first stored
// message.
func TestThreadingOnMailAsItArrives(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			h := newHarness(t, nil)
			h.g.Quiet = true
			mails := evalConversations(seed, 150)
			raws := make([][]byte, len(mails))
			for i, m := range mails {
				raws[i] = m.raw
			}
			res := h.ingest(raws...)
			convOfCase := map[kp.CaseID]int{}
			caseOfConv := map[int]kp.CaseID{}
			var messages, together, falseMerges int
			for i, r := range res {
				c := caseNo(t, r)
				conv := mails[i].conv
				if other, ok := convOfCase[c]; ok && other != conv {
					falseMerges++
					t.Errorf("case %d holds conversations %d and %d (%s matched by %s)", c, other, conv, r.MessageID, r.MatchedBy)
				}
				convOfCase[c] = conv
				home, ok := caseOfConv[conv]
				if !ok {
					caseOfConv[conv] = c
					continue
				}
				messages++
				if home == c {
					together++
				} else if testing.Verbose() {
					t.Logf("split: %s matched by %s (case %d, conversation's case %d): %.120q", r.MessageID, r.MatchedBy, c, home, mails[i].raw)
				}
			}
			rate := float64(together) / float64(messages)
			t.Logf("%d messages, %d conversations: %d false merges, %d of %d follow-ups (%.1f%%) in their conversation's case",
				len(mails), len(caseOfConv), falseMerges, together, messages, 100*rate)
			if rate < 0.95 {
				t.Errorf("only %.1f%% of follow-ups in their conversation's case, want at least 95%%", 100*rate)
			}
		})
	}
}
