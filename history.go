package kontaktpunkt

// Kinds of the records the gateway keeps on a case's timeline when its
// status or escalation level changes. They are stored as outbound messages
// that are never mailed (like other timeline events), dated when the
// change happened (for an archive import: the mail's own time), so that
// reports count resolutions, reopenings and escalations from what
// happened rather than from counters.
const (
	// KindStatus records a status change; its Subject is "status " and
	// the new status ("status resolved").
	KindStatus = "status"
	// KindEscalation records a rise of the escalation level; its Subject
	// is "level " and the new level ("level 2").
	KindEscalation = "escalation"
)
