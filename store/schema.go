package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// This file is the one place that lists every bucket, its key and value
// layout, and the schema version with its ordered migrations. Change the
// layout only here, and add a migration when stored data must change.
//
// Conventions used below:
//
//	u64      8-byte big-endian unsigned integer (ids, sequence numbers), so
//	         keys sort numerically
//	t12      a time as 8-byte big-endian Unix seconds with the sign bit
//	         flipped, then 4-byte big-endian nanoseconds: sorts by instant
//	lstr     uvarint length, then the bytes: a variable-length key part
//	         that can hold any byte without breaking prefix scans
//	packed   one codec byte (codecPlain, codecZstd, codecS2, codecS2Dict,
//	         codecZstdDict or codecZstdRecDict), then the payload;
//	         the payload of a record is its binary encoding (codec.go)
//	(empty)  index entries carry everything in the key; the value is empty

// schemaVersion is the version this code writes. Open refuses a file with
// a newer version and runs the missing migrations on an older one.
const schemaVersion = 3

// Bucket names. Each is a top-level bucket.
var (
	// bucketMeta: "version" -> uvarint schema version.
	bucketMeta = []byte("meta")

	// bucketMsg: u64 seq -> packed message record. Append-only
	// by seq; UpdateMessage rewrites a record in place. The record of a
	// copy of outbound mail that repeats or quotes an earlier message of
	// its case holds its text as a reference to that message's text
	// (store/textref.go: source seq, literal prefix, byte range, line
	// prefix, literal suffix, after the last field group); the source is
	// written with the whole text of its referrers before its text
	// changes or it goes. Added without a version change: older records
	// end before it.
	bucketMsg = []byte("msg")
	// bucketRaw is the raw log: u64 block number -> the next rawBlock
	// bytes of one long byte stream, the packed raw messages (zstd when
	// it pays, byte for byte as received) one after the other. Every
	// block but the last is exactly rawBlock bytes, sized so four blocks
	// fill a page: a ~2 KB value of its own would take a page and an
	// overflow page, half of it empty. A message's packed bytes are found
	// by the offset and length in its bucketMsgID entry. Append-only; only
	// the last block is rewritten, to fill it, and blocks holding purged
	// messages, which are zeroed or deleted (bucketRawFree).
	bucketRaw = []byte("raw")
	// bucketRawFree: u64 offset -> uvarint length. Ranges of the raw log
	// whose message was purged (retention, forget): their bytes are zeroed,
	// and a block wholly inside one range (not the last block) is deleted,
	// so the log may have gaps. Adjacent ranges are merged, so ranges never
	// touch or overlap. Added without a version change: no range existed
	// before it.
	bucketRawFree = []byte("raw_free")
	// bucketRawBig: u64 seq -> packed raw message, for packed sizes of
	// bigRaw and more, where one overflow value wastes under 1/16.
	bucketRawBig = []byte("raw_big")
	// bucketMsgID: message id -> uvarint seq, uvarint case, uvarint
	// outbound id, uvarint raw length, uvarint raw offset, and (entries
	// written since content hashes were kept) uvarint content hash
	// (idEntry). One
	// entry per Message-ID we know, inbound or our own outbound; seq 0
	// means only an outbox entry has the id, outbound id 0 means no
	// outbox entry has it, raw length 0 means no raw bytes are stored.
	// Ids longer than maxIDKey are keyed by "#" + hex SHA-256 of the id
	// (msgIDKey).
	bucketMsgID = []byte("msgid")
	// bucketCaseMsg: u64 case | u64 seq -> (empty). Messages of a case in
	// storage order; case 0 holds unfiled and quarantined messages.
	bucketCaseMsg = []byte("case_msg")

	// bucketCase: u64 case id -> packed case record (plain: small, and
	// rewritten on every message of the case). The bucket sequence
	// numbers cases.
	bucketCase = []byte("case")
	// bucketCaseStatus: lstr status | u64 case id -> (empty).
	bucketCaseStatus = []byte("case_status")
	// bucketCaseAssignee: lstr normalised assignee | u64 case id -> (empty).
	// Cases without an assignee have no entry.
	bucketCaseAssignee = []byte("case_assignee")
	// bucketCaseDue: t12 due | u64 case id -> (empty). One entry per case
	// with a scheduled follow-up (Case.Next).
	bucketCaseDue = []byte("case_due")
	// bucketCaseCounterpart: lstr counterpart reference key
	// (kp.TicketRefKey) | u64 case id -> (empty). One entry per reference
	// in Case.Counterparts. Added without a version change: Open creates
	// missing buckets, and no case held references before it existed.
	bucketCaseCounterpart = []byte("case_counterpart")

	// bucketRefBy: lstr referenced id key (msgIDKey) | u64 case ->
	// (empty). For every message filed on a case, one entry per id in its
	// In-Reply-To and References, whether or not that id was ever
	// received: a parent arriving late, or a second reply to a parent we
	// never got, finds the case by it. Keys are scattered by id.
	bucketRefBy = []byte("ref_by")
	// bucketCaseSubject: lstr normalised case subject | u64 case id ->
	// (empty). Written when a case opens (or merges); a reply that kept
	// only the subject finds its candidates here, newest last.
	bucketCaseSubject = []byte("case_subject")

	// bucketTombstone: u64 case id -> tombstone record (tombstone.go): what
	// a case purged by retention keeps beside its blanked case record
	// (purge time, first answer, message counts). Added without a version
	// change.
	bucketTombstone = []byte("tombstone")
	// bucketAudit: u64 seq -> packed audit record (audit.go): one staff or
	// operator action. The bucket sequence numbers them.
	bucketAudit = []byte("audit")
	// bucketAuditCase: u64 case | u64 audit seq -> (empty). Audit records
	// that concern a case.
	bucketAuditCase = []byte("audit_case")
	// bucketSuggestDoc: u64 case id -> uvarint term count, then per term
	// lstr term | uvarint frequency: the terms of a case's request
	// (package suggest), written once when the case opens so its postings
	// can be replaced. Added without a version change: Open creates missing
	// buckets, and cases from before it simply have no terms.
	bucketSuggestDoc = []byte("suggest_doc")
	// bucketSuggestPost: lstr term | u64 first case id -> a block of
	// postings in case id order, each uvarint id difference (from the
	// previous posting; 0 for the first, whose id is in the key) | uvarint
	// frequency | uvarint term count of the case. The inverted index the
	// suggestions rank past cases by: one posting per term of each folded
	// bucketSuggestDoc record (store/suggest.go), written a block per term
	// per fold; a case indexed late gets blocks of its own.
	bucketSuggestPost = []byte("suggest_post")
	// bucketSuggestDF: term -> uvarint number of cases with the term
	// (document frequency; also the vocabulary compounds are split by).
	bucketSuggestDF = []byte("suggest_df")
	// bucketSearch is the full-text index: epoch (4 bytes 0x01-0x1f, see
	// store/search.go) | token | 0x00 | u64 first case id -> uvarint gaps
	// to the further case ids of the block, ascending (a posting block of
	// at most blockMax cases of one epoch). Tokens (package search) never
	// hold a 0x00 byte, so the blocks of one token sit together, and those
	// of every token with a prefix sit in one key range of each epoch.
	// Keys 0x00 | u64 | 0x00 are the log of recent transactions' postings
	// (store/search_log.go). Written with the message (PutMessage,
	// UpdateMessage) and the case (PutCase) in their transaction. Added
	// without a version change: Open creates missing buckets, and moves
	// blocks of the layout before epochs (token | 0x00 | u64) into theirs.
	bucketSearch = []byte("search")

	// bucketCursor: mailbox name -> 4-byte UIDVALIDITY | 4-byte last UID.
	bucketCursor = []byte("cursor")

	// bucketOut: u64 outbound id -> packed outbound record without Raw.
	// The bucket sequence numbers outbound messages.
	bucketOut = []byte("out")
	// bucketOutRaw: u64 outbound id -> packed raw message. Written once at
	// Enqueue, deleted when the message is sent.
	bucketOutRaw = []byte("out_raw")
	// bucketOutSpec: u64 outbound id -> packed render spec (kp.OutSpec):
	// what a message queued since specs exist is rendered from. Written
	// once at Enqueue, deleted when the message is sent, like out_raw; an
	// outbound message has an entry in one of the two until then. Added
	// without a version change: Open creates missing buckets. A spec
	// queued after its copy on the case refers to that copy (msg) for
	// sender, recipients, subject, text and date (specRefMessage);
	// purging or changing the copy writes them back into the spec first.
	bucketOutSpec = []byte("out_spec")
	// bucketAttRef: u64 message seq | u64 outbound id -> (empty). The
	// specs whose attachments are read from the raw bytes of that message
	// (specRefAttachments, store/attref.go); they get the attachments
	// written back before the raw bytes are purged. Added in version 3.
	bucketAttRef = []byte("att_ref")
	// bucketOutDue: t12 next try | u64 outbound id -> (empty). Queued
	// messages only.
	bucketOutDue = []byte("out_due")
	// bucketOutState: lstr state | u64 outbound id -> (empty).
	bucketOutState = []byte("out_state")

	// bucketSuppress: normalised address -> t12 until.
	bucketSuppress = []byte("suppress")
	// bucketSentHour is the send log (store/misc.go): u64 hour (whole
	// hours since the Unix epoch, rounded down, sign bit flipped) | lstr
	// normalised address or limit key | t12 sent | u64 seq -> (empty). The
	// seq (bucket sequence) keeps two sends in the same nanosecond apart.
	// Keyed by the hour first, so the entries of one commit go to a few
	// pages. Added without a version change: Open creates missing
	// buckets, and the older entries stay in bucketSentLog.
	bucketSentHour = []byte("sent_hour")
	// bucketSentLog: lstr normalised address | t12 sent | u64 seq ->
	// (empty). The send log as written before bucketSentHour: counted
	// and pruned like it, never written, empty once its entries are a day
	// old and pruned.
	bucketSentLog = []byte("sent_log")

	// bucketCounters: counter name -> 8-byte big-endian int64. Counters
	// kept for metrics by other packages (AddCounter).
	bucketCounters = []byte("counters")
	// bucketMsgFact (msgfact.go) is kept apart from this list, so that a
	// store from before it opens read-only: u64 seq -> the fact record of
	// a message the figures may count.

	// bucketStats: internal counter name -> 8-byte big-endian int64.
	// "case/<status>" counts cases per status, "out/<state>" outbound
	// messages per state, "suggest/docs" and "suggest/terms" the cases in
	// bucketSuggestDoc and the sum of their term counts, so counts are O(1) at any store size.
	bucketStats = []byte("stats")
)

// Keys in bucketMeta.
var (
	// keyVersion: uvarint schema version.
	keyVersion = []byte("version")
	// keyRawBlock: uvarint block size of the raw log, fixed when the file
	// is created (it follows from the page size).
	keyRawBlock = []byte("raw_block")
	// keyForgetSalt: 16 random bytes, made by the first forget: the key of
	// the keyed hash that turns a forgotten address into its pseudonym, so
	// the pseudonym cannot be recomputed from a guessed address without the
	// store.
	keyForgetSalt = []byte("forget_salt")
)

// bigRaw is the packed size from which a raw message is stored as one
// value in bucketRawBig instead of in the raw log.
const bigRaw = 64 << 10

// rawBlockSize returns the raw log block size for a page size: four
// blocks with their 8-byte keys and 16-byte element headers fill a page
// after its 16-byte header.
func rawBlockSize(pageSize int) int { return (pageSize-16)/4 - 16 - 8 }

// bucketDef describes how a bucket is written.
type bucketDef struct {
	name []byte
	// fill is the bolt FillPercent used when the bucket is written. Buckets
	// whose keys only grow are packed full; buckets with keys inserted
	// anywhere keep bolt's default so pages do not split on every insert.
	fill float64
}

// lateBuckets are buckets added after stores were in use that a store
// opened read-only may lack: their readers take a missing bucket for an
// empty one (Tx.late), so such a store opens read-only without first
// being opened for writing, which creates them.
var lateBuckets = [][]byte{bucketSentHour}

// buckets lists every bucket of the current schema.
var buckets = []bucketDef{
	{bucketMeta, bolt.DefaultFillPercent},
	{bucketMsg, 0.95}, // append-only; a little room for UpdateMessage
	{bucketRaw, 1.0},  // append-only log
	{bucketRawBig, 1.0},
	{bucketRawFree, bolt.DefaultFillPercent},
	{bucketMsgID, bolt.DefaultFillPercent},
	{bucketCaseMsg, 0.9}, // mostly appends: new messages go to recent cases
	{bucketCase, 0.9},    // appended by id; rewritten in place, records are small
	{bucketCaseStatus, bolt.DefaultFillPercent},
	{bucketCaseAssignee, bolt.DefaultFillPercent},
	{bucketCaseDue, bolt.DefaultFillPercent},
	{bucketCaseCounterpart, bolt.DefaultFillPercent},
	{bucketRefBy, bolt.DefaultFillPercent},
	{bucketCaseSubject, bolt.DefaultFillPercent},
	{bucketTombstone, 0.9},
	{bucketAudit, 1.0}, // append-only
	{bucketAuditCase, bolt.DefaultFillPercent},
	{bucketSuggestDoc, 0.9}, // appended by case id
	{bucketSuggestPost, bolt.DefaultFillPercent},
	{bucketSuggestDF, bolt.DefaultFillPercent},
	{bucketSearch, bolt.DefaultFillPercent},
	{bucketCursor, bolt.DefaultFillPercent},
	{bucketOut, 0.9},
	{bucketOutRaw, 1.0},
	{bucketOutSpec, 1.0},
	{bucketAttRef, bolt.DefaultFillPercent},
	{bucketOutDue, bolt.DefaultFillPercent},
	{bucketOutState, bolt.DefaultFillPercent},
	{bucketSuppress, bolt.DefaultFillPercent},
	{bucketSentLog, bolt.DefaultFillPercent},
	{bucketSentHour, bolt.DefaultFillPercent},
	{bucketCounters, bolt.DefaultFillPercent},
	{bucketStats, bolt.DefaultFillPercent},
}

// fillPercent returns the FillPercent of a bucket by name.
func fillPercent(name []byte) float64 {
	for _, b := range buckets {
		if string(b.name) == string(name) {
			return b.fill
		}
	}
	return bolt.DefaultFillPercent
}

// isLate reports whether name is one of lateBuckets.
func isLate(name []byte) bool {
	for _, b := range lateBuckets {
		if string(b) == string(name) {
			return true
		}
	}
	return false
}

// migration brings a store from version to-1 to version to.
type migration struct {
	to   int
	name string
	// apply runs inside the single read-write transaction of Open.
	apply func(tx *bolt.Tx) error
}

// migrations are applied in order by Open, each at most once. Never edit a
// released entry; append a new one and raise schemaVersion.
var migrations = []migration{
	{to: 1, name: "initial layout", apply: initialLayout},
	// Queued mail as render specs, the search index in epochs and the
	// message facts of reports, values packed with codec 4 by compact:
	// a program of version 1 would take them for damage. The epochs and
	// facts are built by Open after the migrations (upgradeSearch,
	// buildFacts); the new buckets come here.
	{to: 2, name: "render specs, search epochs, message facts", apply: createBuckets},
	// Copies of outbound mail whose text refers to the message they
	// repeat (textref.go), outbox records that refer to their copy
	// (outref.go), specs that read their attachments from raw bytes
	// (attref.go), codec 5: a program of version 2 would read empty
	// texts and send queued mail without them. Nothing is rewritten; new
	// records are written so from now on.
	{to: 3, name: "text, copy and attachment references", apply: createBuckets},
}

// createBuckets creates every bucket of the current schema that is missing.
func createBuckets(tx *bolt.Tx) error {
	for _, b := range buckets {
		if _, err := tx.CreateBucketIfNotExists(b.name); err != nil {
			return fmt.Errorf("creating bucket %s: %w", b.name, err)
		}
	}
	return nil
}

// initialLayout creates the buckets and fixes the raw log block size.
func initialLayout(tx *bolt.Tx) error {
	if err := createBuckets(tx); err != nil {
		return err
	}
	meta := tx.Bucket(bucketMeta)
	if meta.Get(keyRawBlock) != nil {
		return nil
	}
	return meta.Put(keyRawBlock, binary.AppendUvarint(nil, uint64(rawBlockSize(tx.DB().Info().PageSize))))
}

// readRawBlock returns the raw log block size stored at creation.
func readRawBlock(tx *bolt.Tx) (int, error) {
	b := tx.Bucket(bucketMeta)
	if b == nil {
		return 0, fmt.Errorf("no meta bucket: %w", ErrCorrupt)
	}
	v := b.Get(keyRawBlock)
	n, k := binary.Uvarint(v)
	if k <= 0 || k != len(v) || n < 64 || n > 1<<20 {
		return 0, fmt.Errorf("raw block size %x: %w", v, ErrCorrupt)
	}
	return int(n), nil
}

// readVersion returns the stored schema version, 0 for a new file.
func readVersion(tx *bolt.Tx) (int, error) {
	b := tx.Bucket(bucketMeta)
	if b == nil {
		return 0, nil
	}
	v := b.Get(keyVersion)
	if v == nil {
		return 0, nil
	}
	n, k := binary.Uvarint(v)
	if k <= 0 || k != len(v) {
		return 0, fmt.Errorf("schema version %x: %w", v, ErrCorrupt)
	}
	return int(n), nil
}

// migrate runs every migration newer than the stored version, creates
// missing buckets and records the current version.
func migrate(tx *bolt.Tx) error {
	v, err := readVersion(tx)
	if err != nil {
		return err
	}
	if v > schemaVersion {
		return fmt.Errorf("file has schema version %d, this program knows up to %d: %w", v, schemaVersion, ErrSchema)
	}
	for _, m := range migrations {
		if m.to <= v {
			continue
		}
		if err := m.apply(tx); err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.to, m.name, err)
		}
	}
	if err := createBuckets(tx); err != nil {
		return err
	}
	return tx.Bucket(bucketMeta).Put(keyVersion, binary.AppendUvarint(nil, schemaVersion))
}

// upToDate reports whether the file needs no migration: the current
// version is stored and every bucket exists (but lateBuckets, if
// forReading).
func upToDate(tx *bolt.Tx, forReading bool) (bool, error) {
	v, err := readVersion(tx)
	if err != nil {
		return false, err
	}
	if v > schemaVersion {
		return false, fmt.Errorf("file has schema version %d, this program knows up to %d: %w", v, schemaVersion, ErrSchema)
	}
	if v != schemaVersion {
		return false, nil
	}
	for _, b := range buckets {
		if tx.Bucket(b.name) == nil && !(forReading && isLate(b.name)) {
			return false, nil
		}
	}
	return tx.Bucket(bucketMeta).Get(keyRawBlock) != nil, nil
}
