package gateway

import (
	"errors"
	"fmt"

	"kontaktpunkt/routing"
)

// phrase is one line of a receipt in each template language.
type phrase struct{ en, nb string }

// phrases are the receipt lines the gateway writes itself (what a command
// did, why it was refused), in the languages of templates.language, so a
// Norwegian receipt has no English line. The first argument is always the
// tag as the sender wrote it.
var phrases = map[string]phrase{
	"assigned":         {"%s: assigned to %s", "%s: tildelt %s"},
	"assigned-team":    {"%s: assigned to team %s", "%s: tildelt team %s"},
	"unassigned":       {"%s: unassigned", "%s: tildelingen er fjernet"},
	"status":           {"%s: status %s", "%s: status %s"},
	"note":             {"%s: internal note, not sent to the requester", "%s: intern merknad, ikke sendt til innsenderen"},
	"prio":             {"%s: priority %s", "%s: prioritet %s"},
	"remind":           {"%s: next follow-up %s", "%s: neste oppfølging %s"},
	"escalated":        {"%s: escalated to level %d", "%s: eskalert til nivå %d"},
	"cc":               {"%s: added participant %s", "%s: la til deltaker %s"},
	"requester":        {"%s: requester %s", "%s: innsender %s"},
	"archived":         {"%s: filed in the archive as %s", "%s: arkivert som %s"},
	"merged":           {"%s merged into %s", "%s er slått inn i %s"},
	"linked":           {"%s linked with %s", "%s er koblet til %s"},
	"status-invalid":   {"%s: status must be open, waiting or resolved", "%s: status må være open, waiting eller resolved"},
	"prio-invalid":     {"%s: priority must be low, normal, high or urgent", "%s: prioritet må være low, normal, high eller urgent"},
	"date-past":        {"%s: the date is not in the future", "%s: tidspunktet er ikke fram i tid"},
	"top-level":        {"%s: already at the highest escalation level", "%s: saken er allerede på høyeste eskaleringsnivå"},
	"max-participants": {"%s: the case already has the most participants allowed (%d)", "%s: saken har allerede så mange deltakere som tillatt (%d)"},
	"unknown-command":  {"%s: unknown command", "%s: ukjent kommando"},
	"not-address":      {"%s: not an e-mail address", "%s: ikke en e-postadresse"},
	"contact-itself":   {"%s: that is the contact address itself", "%s: det er kontaktadressen selv"},
	"unknown-assignee": {"%s: %s", "%s: kjenner ikke %q som medarbeider, teammedlem eller team"},
	"ambiguous":        {"%s: %s", "%s: %q passer på flere; skriv hele adressen"},
	// The second argument is the parser's English reason, left out in nb.
	"bad-remind": {"%s: %s", "%s: remind må være en varighet i arbeidstid som 3d, 4h eller 1d4h, eller en dato som 2026-12-01%.0s"},
	"not-relayed": {"the message was NOT relayed to the requester because a tag was refused; correct the tag and send it again",
		"meldingen ble IKKE videresendt til innsenderen fordi et merke ble avvist; rett merket og send den på nytt"},
	"unauthenticated": {"%s: refused: the message was not authenticated: no Authentication-Results of our own mail system vouched for the sender (dmarc=pass or an aligned dkim=pass)",
		"%s: meldingen var ikke autentisert: ingen Authentication-Results fra vårt eget e-postsystem gikk god for avsenderen (dmarc=pass eller en dkim=pass som stemmer med avsenderdomenet)"},
	"unauthenticated-held": {"the message was stored on the case marked not authenticated and NOT relayed: the message was not authenticated: no Authentication-Results of our own mail system vouched for the sender (dmarc=pass or an aligned dkim=pass)",
		"meldingen er lagret på saken merket som ikke autentisert og ble IKKE videresendt: ingen Authentication-Results fra vårt eget e-postsystem gikk god for avsenderen (dmarc=pass eller en dkim=pass som stemmer med avsenderdomenet)"},
}

// norwegian reports whether receipts are written in Norwegian.
func (g *Gateway) norwegian() bool {
	return g.Config == nil || g.Config.Templates.Language != "en"
}

// say renders a receipt line in the template language.
func (g *Gateway) say(key string, args ...any) string { return g.sayIn(g.norwegian(), key, args...) }

// sayIn renders a line in Norwegian or English.
func (g *Gateway) sayIn(norwegian bool, key string, args ...any) string {
	p, ok := phrases[key]
	if !ok {
		panic("gateway: no phrase " + key) // a programming error, caught by the tests
	}
	format := p.en
	if norwegian {
		format = p.nb
	}
	return fmt.Sprintf(format, args...)
}

// routingRefusals are the Norwegian wordings of routing.Refused keys; the
// English wording is Refused.Reason itself.
var routingRefusals = map[string]func(a []string) string{
	"unknown-tag": func(a []string) string { return fmt.Sprintf("ukjent merke %s; mente du %s?", a[0], a[1]) },
	"takes-no-argument": func(a []string) string {
		return fmt.Sprintf("%s: [%s] tar ikke noe argument", a[0], a[1])
	},
	"needs-argument": func(a []string) string {
		return fmt.Sprintf("%s: [%s] trenger et argument, for eksempel %s", a[0], a[1], a[2])
	},
	"bad-status": func(a []string) string {
		return fmt.Sprintf("%s: status må være open, waiting eller resolved%s", a[0], meantNB(a[1]))
	},
	"bad-prio": func(a []string) string {
		return fmt.Sprintf("%s: prioritet må være low, normal, high eller urgent%s", a[0], meantNB(a[1]))
	},
	"bad-remind": func(a []string) string {
		return fmt.Sprintf("%s: remind må være en varighet i arbeidstid som 3d, 4h eller 1d4h, eller en dato som 2026-12-01", a[0])
	},
	"bad-address": func(a []string) string { return fmt.Sprintf("%s: %q er ikke en gyldig e-postadresse", a[0], a[1]) },
	"bad-archive-ref": func(a []string) string {
		return fmt.Sprintf("%s: arkivreferansen må være bokstaver, sifre og / . _ - (høyst 64), som [archived:2026/1234]", a[0])
	},
	"bad-caseref": func(a []string) string {
		return fmt.Sprintf("%s: [%s:…] viser til en sak med merke eller nummer, som [%s:INT#5]", a[0], a[1], a[1])
	},
}

func meantNB(s string) string {
	if s == "" {
		return ""
	}
	return "; mente du " + s + "?"
}

// refusal renders a refusal found while parsing the subject.
func (g *Gateway) refusal(r routing.Refused) string {
	if !g.norwegian() {
		return r.Reason
	}
	if f, ok := routingRefusals[r.Key]; ok && len(r.Args) > 0 {
		return f(append(r.Args, "", "", "")) // padded: a missing argument prints empty, never panics
	}
	return r.Reason
}

// resolveRefusal says why [assign:name] named nobody.
func (g *Gateway) resolveRefusal(raw, name string, err error) string {
	switch {
	case errors.Is(err, routing.ErrAmbiguousAssignee):
		if g.norwegian() {
			return g.say("ambiguous", raw, name)
		}
	case errors.Is(err, routing.ErrUnknownAssignee):
		if g.norwegian() {
			return g.say("unknown-assignee", raw, name)
		}
	}
	return raw + ": " + err.Error()
}
