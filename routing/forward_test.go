package routing

import (
	"testing"

	kp "kontaktpunkt"
)

// Forwarded header blocks as clients write them, in the words of each
// client's locale.
var forwardBlocks = []struct {
	name, text string
	want       kp.Address
}{
	{"Outlook nb", "Kan dere ta denne?\n\nKari\n\n________________________________\nFra: Ola Nordmann <ola@kommune.example>\nSendt: tirsdag 1. desember 2026 09:00\nTil: Kari <kari@uio.no>\nEmne: Tilgang\n\nHei, jeg trenger tilgang.",
		kp.Address{Name: "Ola Nordmann", Addr: "ola@kommune.example"}},
	{"Outlook en, old mailto form", "FYI\n\n-----Original Message-----\nFrom: Jane Roe [mailto:jane.roe@partner.example]\nSent: Tuesday, December 1, 2026 9:00 AM\nTo: Kari\nSubject: Access\n\nHello",
		kp.Address{Name: "Jane Roe", Addr: "jane.roe@partner.example"}},
	{"Outlook de", "Bitte übernehmen.\n\nVon: Hans Meier <hans@uni.example>\nGesendet: Dienstag, 1. Dezember 2026 09:00\nAn: Kari\nBetreff: Zugang\n\nHallo",
		kp.Address{Name: "Hans Meier", Addr: "hans@uni.example"}},
	{"Outlook sv", "Se nedan.\n\nFrån: Sven Svensson <sven@lu.example>\nSkickat: den 1 december 2026 09:00\nTill: Kari\nÄmne: Åtkomst\n\nHej",
		kp.Address{Name: "Sven Svensson", Addr: "sven@lu.example"}},
	{"Outlook da", "Videre til jer.\n\nFra: Mette Hansen <mette@ku.example>\nSendt: 1. december 2026 09:00\nTil: Kari\nEmne: Adgang\n\nHej",
		kp.Address{Name: "Mette Hansen", Addr: "mette@ku.example"}},
	{"Gmail", "Se under.\n\n---------- Forwarded message ---------\nFrom: Per Olsen <per.olsen@gmail.example>\nDate: Tue, 1 Dec 2026 at 09:00\nSubject: Data\nTo: <kari@uio.no>\n\nHei",
		kp.Address{Name: "Per Olsen", Addr: "per.olsen@gmail.example"}},
	{"Gmail nb", "---------- Videresendt melding ---------\nFra: Liv <liv@example.net>\nDate: tir. 1. des. 2026 kl. 09:00\nSubject: Data\nTo: <kari@uio.no>\n",
		kp.Address{Name: "Liv", Addr: "liv@example.net"}},
	{"Apple Mail", "Begin forwarded message:\n\nFrom: \"Anna Berg\" <anna@icloud.example>\nSubject: Spørsmål\nDate: 1 December 2026 at 09:00:00 CET\nTo: kari@uio.no\n\nHei",
		kp.Address{Name: "Anna Berg", Addr: "anna@icloud.example"}},
	{"quoted block", "> -----Opprinnelig melding-----\n> Fra: bare@adresse.example\n> Sendt: 1. desember\n",
		kp.Address{Addr: "bare@adresse.example"}},
}

func TestForwardedFrom(t *testing.T) {
	for _, tt := range forwardBlocks {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ForwardedFrom(tt.text)
			if !ok || got != tt.want {
				t.Errorf("ForwardedFrom = %+v, %v; want %+v", got, ok, tt.want)
			}
		})
	}
	for _, text := range []string{
		"",
		"Fra: Ola <ola@x.example>\n\nJust a line that looks like a header, alone.",
		"Hei,\n\nfra: meg\n",
		"-----Opprinnelig melding-----\nFra: Ola Nordmann\nSendt: 1. desember\nTil: Kari\n", // name only
	} {
		if got, ok := ForwardedFrom(text); ok {
			t.Errorf("ForwardedFrom(%q) = %+v, want none", text, got)
		}
	}
}

func TestHasForwardPrefix(t *testing.T) {
	for s, want := range map[string]bool{
		"VS: Tilgang": true, "Fwd: x": true, "FW: x": true, "WG: x": true, "TR: x": true, "I: x": true,
		"Fw: Re: x": true, "[EKSTERN] VS: x": true, "[INT#4] Fwd: x": true, "[Fwd: x]": true,
		"Re: Fwd: x": false, "SV: x": false, "Tilgang": false, "Fwdx: y": false,
	} {
		if got := HasForwardPrefix(s, "INT"); got != want {
			t.Errorf("HasForwardPrefix(%q) = %v, want %v", s, got, want)
		}
	}
}
