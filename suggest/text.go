// Package suggest ranks who can answer a new case by the cases answered
// before it: the text of a case (its subject and the requester's own
// words) becomes a bag of Norwegian-aware terms, past cases with similar
// terms are found through an inverted index kept by the store, and their
// final team and assignee vote, weighted by similarity.
//
// The package is pure: it imports only the root package. The index is
// reached through the Index interface, which the store's transaction
// implements, so suggestions read the same data the apply transaction
// writes and are never out of step with it.
//
// Terms are lower-case words with æ, ø and å kept and other diacritics
// folded, stripped of bokmål and nynorsk inflection endings by a light
// stemmer, without stop words. IT names keep their shape: "FS-API-et" is
// "fs-api", "P360" stays "p360", and a two-letter acronym such as "ID" in
// "Entra ID" is kept where a lower-case two-letter word is not. A long
// word that is a compound of words the index knows also yields its parts
// ("integrasjonsplattformen": integrasjon, plattform).
package suggest

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxTextBytes caps the text read for terms: the first screens of a
// request say what it is about, and a pasted log must not cost more.
const maxTextBytes = 8 << 10

// fold maps letters with diacritics to the letter Norwegian readers treat
// them as. æ, ø and å are letters of their own and are kept; ä and ö are
// their Swedish spellings.
var fold = map[rune]rune{
	'à': 'a', 'á': 'a', 'â': 'a', 'ã': 'a', 'ā': 'a', 'ą': 'a',
	'ä': 'æ', 'ö': 'ø', 'ő': 'ø',
	'ç': 'c', 'č': 'c', 'ć': 'c',
	'è': 'e', 'é': 'e', 'ê': 'e', 'ë': 'e', 'ē': 'e', 'ę': 'e', 'ě': 'e',
	'ì': 'i', 'í': 'i', 'î': 'i', 'ï': 'i', 'ī': 'i',
	'ñ': 'n', 'ń': 'n', 'ň': 'n',
	'ò': 'o', 'ó': 'o', 'ô': 'o', 'õ': 'o', 'ō': 'o',
	'ù': 'u', 'ú': 'u', 'û': 'u', 'ü': 'u', 'ū': 'u', 'ů': 'u', 'ű': 'u',
	'ý': 'y', 'ÿ': 'y',
	'š': 's', 'ś': 's', 'ß': 's', 'ž': 'z', 'ź': 'z', 'ż': 'z', 'ř': 'r', 'ł': 'l', 'đ': 'd', 'ð': 'd', 'þ': 't',
}

// Fold lower-cases s and folds diacritics other than æ, ø and å.
func Fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s) // no copy when already lower case
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		r = unicode.ToLower(r)
		if f, ok := fold[r]; ok {
			r = f
		}
		b.WriteRune(r)
	}
	return b.String()
}

// word is one token of the text before stemming.
type word struct {
	text    string // folded
	acronym bool   // an IT name or acronym: kept whole, never stemmed
}

// inflections are the endings a name written with a hyphen takes in
// Norwegian ("FS-API-et", "LMS-ene", "P360s").
var inflections = map[string]bool{
	"en": true, "et": true, "a": true, "ene": true, "ane": true, "er": true, "ar": true,
	"s": true, "ets": true, "ens": true, "enes": true, "ers": true, "e": true, "n": true, "t": true,
}

func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// tokens splits text into raw tokens: runs of letters and digits joined
// by single hyphens. They are substrings of text; nothing is copied.
func tokens(text string, fn func(tok string)) {
	if len(text) > maxTextBytes {
		cut := maxTextBytes
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	i := 0
	for i < len(text) {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !wordRune(r) {
			i += n
			continue
		}
		j := i
		for j < len(text) {
			r, n := utf8.DecodeRuneInString(text[j:])
			if wordRune(r) {
				j += n
				continue
			}
			if r == '-' && j+1 < len(text) {
				r2, _ := utf8.DecodeRuneInString(text[j+1:])
				if wordRune(r2) {
					j++
					continue
				}
			}
			break
		}
		fn(text[i:j])
		i = j
	}
}

// isAcronym reports whether a part is written as an IT name: two or more
// capitals, or capitals mixed with digits ("P360", "ID", "BI", "O365").
func isAcronym(part string) bool {
	upper, digit, lower := 0, 0, 0
	for _, r := range part {
		switch {
		case unicode.IsUpper(r):
			upper++
		case unicode.IsDigit(r):
			digit++
		case unicode.IsLower(r):
			lower++
		}
	}
	return lower == 0 && (upper >= 2 || (upper >= 1 && digit >= 1))
}

// appendToken adds the words of one token. A token with a capitalised
// acronym part ("FS-API-et", "P360", "LMS") is an IT name and keeps its
// hyphens, with a trailing inflection dropped; any other hyphenated token
// is split.
func appendToken(out []word, tok string) []word {
	if strings.IndexByte(tok, '-') < 0 {
		return append(out, word{text: Fold(tok), acronym: isAcronym(tok)})
	}
	parts := strings.Split(tok, "-")
	name := false
	for _, p := range parts {
		if isAcronym(p) {
			name = true
			break
		}
	}
	if !name {
		for _, p := range parts {
			if p != "" {
				out = append(out, word{text: Fold(p)})
			}
		}
		return out
	}
	// An IT name: drop a trailing lower-case inflection, keep the rest
	// whole, and its parts beside it so "FS API" and "FS-API" meet.
	if len(parts) > 1 && inflections[parts[len(parts)-1]] {
		parts = parts[:len(parts)-1]
	}
	whole := Fold(strings.Join(parts, "-"))
	out = append(out, word{text: whole, acronym: true})
	if len(parts) > 1 {
		for _, p := range parts {
			out = append(out, word{text: Fold(p), acronym: isAcronym(p)})
		}
	}
	return out
}

// suffixes are the inflection and derivation endings the stemmer
// strips, longest first, each with the shortest stem it may leave. A
// replacement keeps a derivation suffix that carries the meaning
// ("integrasjonen" becomes "integrasjon", not "integra").
var suffixes = []struct {
	end, keep string
	minStem   int
}{
	{"sjonene", "sjon", 2}, {"sjonane", "sjon", 2}, {"sjonen", "sjon", 2}, {"sjoner", "sjon", 2}, {"sjonar", "sjon", 2}, {"sjona", "sjon", 2},
	{"hetene", "het", 3}, {"heitene", "het", 3}, {"heitane", "het", 3}, {"heten", "het", 3}, {"heita", "het", 3}, {"heiter", "het", 3}, {"heter", "het", 3}, {"heit", "het", 3},
	{"ingene", "ing", 3}, {"ingane", "ing", 3}, {"ingen", "ing", 3}, {"ingar", "ing", 3}, {"inger", "ing", 3}, {"inga", "ing", 3},
	{"elsene", "else", 3}, {"elsen", "else", 3}, {"elser", "else", 3},
	{"erende", "", 4}, {"erte", "", 4}, {"erer", "", 4}, {"ert", "", 4}, {"ere", "", 4},
	{"ande", "", 4}, {"ende", "", 4},
	{"erne", "", 3}, {"arne", "", 3}, {"ene", "", 3}, {"ane", "", 3}, {"est", "", 4}, {"ast", "", 4},
	{"er", "", 3}, {"ar", "", 3}, {"en", "", 3}, {"et", "", 3}, {"te", "", 4},
	{"a", "", 3}, {"e", "", 3},
}

// genitiveBase lists endings that a genitive -s may follow: only then is
// a final s taken for one ("studentens", "systemets"), so that "status",
// "campus" and "Canvas" keep theirs.
var genitiveBase = []string{"en", "et", "ne", "ar", "er", "sjon", "het", "ing"}

// Stem strips inflection endings from a folded word. Words of three
// letters or fewer are returned as they are.
func Stem(w string) string {
	if utf8.RuneCountInString(w) <= 3 {
		return w
	}
	if strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss") && utf8.RuneCountInString(w) > 5 {
		for _, g := range genitiveBase {
			if strings.HasSuffix(w[:len(w)-1], g) {
				w = w[:len(w)-1]
				break
			}
		}
	}
	// Two passes, so that a definite ending on a plural or on a word
	// that itself ends like one meets the bare word: "eksamenen" and
	// "eksamen", "brukeren" and "bruker" stem alike.
	w = stripSuffix(stripSuffix(w))
	return undouble(w)
}

func stripSuffix(w string) string {
	if w == "" || !strings.ContainsRune("aenrt", rune(w[len(w)-1])) {
		return w // every ending is on one of these letters
	}
	for _, s := range suffixes {
		if !strings.HasSuffix(w, s.end) {
			continue
		}
		stem := w[:len(w)-len(s.end)]
		if utf8.RuneCountInString(stem) < s.minStem || !hasVowel(stem+s.keep) {
			continue
		}
		return stem + s.keep
	}
	return w
}

// undouble reduces a doubled final consonant ("romm" of "rommet" meets
// "rom"; "grupp" of "gruppa" and "gruppe" meets "grup" either way).
func undouble(w string) string {
	n := len(w)
	if n >= 4 && w[n-1] == w[n-2] && w[n-1] < utf8.RuneSelf && !strings.ContainsRune("aeiouy", rune(w[n-1])) {
		return w[:n-1]
	}
	return w
}

func hasVowel(s string) bool { return strings.ContainsAny(s, "aeiouyæøå") }

// Vocab reports whether a stemmed term occurs in the index; compounds
// are split only into parts it knows. A nil Vocab splits nothing.
type Vocab func(term string) bool

// minCompound is the shortest word (in bytes) tried as a compound.
const minCompound = 8

// splitCompound returns the stemmed parts of a compound word whose parts
// the vocabulary knows, joined directly or by the linking -s- or -e-;
// nil when no split into known parts exists. depth bounds the recursion.
func splitCompound(w string, known Vocab, depth int) []string {
	if known == nil || len(w) < minCompound || depth > 2 {
		return nil
	}
	return splitAt(w, compoundCuts(w), known, depth)
}

// cut is a place a compound may be split, with the stem of its left part.
type cut struct {
	at   int
	left string
}

// compoundCuts returns the places w may be split, longest left part
// first: "studentdata" is student + data. Finding them (stemming every
// left part) needs no vocabulary.
func compoundCuts(w string) []cut {
	var cuts []cut
	for at := len(w) - 3; at >= 3; at-- {
		if !utf8.RuneStart(w[at]) || !hasVowel(w[:at]) {
			continue
		}
		cuts = append(cuts, cut{at, Stem(w[:at])})
	}
	return cuts
}

// splitAt is splitCompound with w's cuts found.
func splitAt(w string, cuts []cut, known Vocab, depth int) []string {
	for _, c := range cuts {
		if !known(c.left) {
			continue
		}
		for _, link := range []string{"", "s", "e"} {
			rest := w[c.at:]
			if link != "" {
				if !strings.HasPrefix(rest, link) {
					continue
				}
				rest = rest[len(link):]
			}
			if len(rest) < 3 || !hasVowel(rest) {
				continue
			}
			right := Stem(rest)
			if known(right) && utf8.RuneCountInString(right) >= 3 {
				return []string{c.left, right}
			}
			if sub := splitCompound(rest, known, depth+1); sub != nil {
				return append([]string{c.left}, sub...)
			}
		}
	}
	return nil
}

// Terms returns the terms of text with their counts: stems of the words
// that are not stop words, IT names whole, and the known parts of
// compounds beside the compound itself.
func Terms(text string, known Vocab) map[string]int {
	out := make(map[string]int)
	addTerms(out, text, known, 1)
	return out
}

// CaseTerms returns the terms of a case: its subject counts twice, as
// the subject is the requester's own summary.
func CaseTerms(subject, text string, known Vocab) map[string]int {
	out := make(map[string]int)
	addTerms(out, subject, known, 2)
	addTerms(out, text, known, 1)
	return out
}

func addTerms(out map[string]int, text string, known Vocab, weight int) {
	Prepare(text).add(out, known, weight)
}

// Prepared is the part of a text's terms that needs no vocabulary: its
// stems and IT names with their counts, and the words long enough to be
// compounds. Finding it is most of the work, and needs no index, so it
// can be done before the transaction that splits the compounds into the
// parts the index knows.
type Prepared struct {
	text      string
	terms     map[string]int
	compounds []compound
}

// compound is a word that may be split, with its stem, count and cuts.
type compound struct {
	word, stem string
	n          int
	cuts       []cut
}

// Prepare returns the vocabulary-free terms of text.
func Prepare(text string) *Prepared {
	p := &Prepared{text: text, terms: make(map[string]int)}
	// A request repeats its words: each distinct token is folded,
	// stemmed and split once.
	seen := make(map[string]int)
	var order []string
	tokens(text, func(tok string) {
		if seen[tok] == 0 {
			order = append(order, tok)
		}
		seen[tok]++
	})
	at := make(map[string]int) // compound word -> index in p.compounds
	var ws []word
	for _, tok := range order {
		n := seen[tok]
		ws = appendToken(ws[:0], tok)
		for _, w := range ws {
			if w.acronym {
				p.terms[w.text] += n
				continue
			}
			st, ok := wordStem(w.text)
			if !ok {
				continue
			}
			p.terms[st] += n
			if len(w.text) < minCompound {
				continue
			}
			if i, ok := at[w.text]; ok {
				p.compounds[i].n += n
				continue
			}
			at[w.text] = len(p.compounds)
			p.compounds = append(p.compounds, compound{word: w.text, stem: st, n: n, cuts: compoundCuts(w.text)})
		}
	}
	return p
}

// Of reports whether p was prepared from text.
func (p *Prepared) Of(text string) bool { return p != nil && p.text == text }

// add adds the terms, with the known parts of compounds, weight times.
func (p *Prepared) add(out map[string]int, known Vocab, weight int) {
	for t, n := range p.terms {
		out[t] += n * weight
	}
	if known == nil {
		return
	}
	stop := stopWords()
	for _, c := range p.compounds {
		for _, part := range splitAt(c.word, c.cuts, known, 0) {
			if part != c.stem && !stop[part] {
				out[part] += c.n * weight
			}
		}
	}
}

// CaseTermsPrepared is CaseTerms with the subject and text already
// prepared.
func CaseTermsPrepared(subject, text *Prepared, known Vocab) map[string]int {
	// Sized for the terms and compound parts: no growing on the writer.
	out := make(map[string]int, len(subject.terms)+len(text.terms)+2*(len(subject.compounds)+len(text.compounds)))
	subject.add(out, known, 2)
	text.add(out, known, 1)
	return out
}

// wordStem returns the stem of one folded word, or false for a stop
// word, a number or a single letter.
func wordStem(w string) (string, bool) {
	stop := stopWords()
	if len(w) < 2 || stop[w] || allDigits(w) {
		return "", false
	}
	st := Stem(w)
	if len(st) < 2 || stop[st] {
		return "", false
	}
	return st, true
}

func allDigits(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}
