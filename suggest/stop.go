package suggest

import "sync"

// stopWords are words too common to tell one request from another:
// bokmål, nynorsk and English function words, and the greetings and
// courtesies of a mail. They are matched folded and unstemmed.
var stopWords = sync.OnceValue(func() map[string]bool {
	m := make(map[string]bool)
	for _, list := range []string{
		// bokmål
		`alle alt andre at av bare begge ble bli blir blitt da dag de deg dem den denne dere deres det dette di din disse dit ditt du eller en ene eneste enn er et ett etter for fordi fra før få går ha hadde han hans har hun hva hvem hver hvilke hvilken hvis hvor hvordan hvorfor i ikke inn inne jeg kan kanskje kom komme kommer kun kunne man mange med meg men mer mest min mine mitt mot mye må måtte nå når ned nei noe noen noe nok nye og også om opp oss over på samme seg selv sin sine sitt skal skulle slik som så til ut uten var vi vil ville vår være vært ønsker ønsket hei hallo takk tusen hilsen mvh vennlig vennligst beste god dagen gjerne fint litt veldig får fikk gjøre gjør gjort kunne lurer lurte spørsmål spørre hjelp trenger behov forhånd ser sett igjen allerede fortsatt enda bør`,
		// nynorsk
		`ein eit eg ho dei dykk dykkar me vere vore korleis kva kven kvifor kor berre ikkje frå til òg også noko nokon mykje meir sjølv sidan fordi helsing venleg venlegst takk treng`,
		// English
		`a about after all also an and any are as at be been but by can could do does for from get had has have hello hi how i if in into is it its just me my no not of on or our please regards so some thank thanks that the their them then there this to up us was we what when where which who why will with would you your dear best kind`,
	} {
		for _, w := range splitFields(list) {
			m[w] = true
		}
	}
	return m
})

func splitFields(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' || s[i] == '\n' {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	return out
}
