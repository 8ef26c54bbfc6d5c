package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"kontaktpunkt/routing"
)

// Duration is a wall-clock duration written in YAML as "30s", "5m", "1h30m",
// "14d" or "2w". A day is 24 hours and a week 7 days; they may be combined
// with the units of time.ParseDuration ("1d12h"). Negative values and bare
// numbers are rejected.
type Duration time.Duration

// Day and Week are the calendar units of Duration.
const (
	Day  = Duration(24 * time.Hour)
	Week = 7 * Day
)

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String renders d in a form ParseDuration reads back: whole days as
// "14d", otherwise time.Duration's form ("1h30m0s").
func (d Duration) String() string {
	switch {
	case d == 0:
		return "0s"
	case d%Day == 0:
		return strconv.FormatInt(int64(d/Day), 10) + "d"
	}
	return time.Duration(d).String()
}

var dayWeek = lazyRegexp(`^(?:(\d+)w)?(?:(\d+)d)?(.*)$`)

// ParseDuration parses the Duration syntax.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty duration")
	}
	m := dayWeek().FindStringSubmatch(s)
	var d Duration
	for i, unit := range []Duration{Week, Day} {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.ParseInt(m[i+1], 10, 64)
		if err != nil || n > int64(1<<62)/int64(unit) {
			return 0, fmt.Errorf("duration %q out of range", s)
		}
		d += Duration(n) * unit
	}
	if rest := m[3]; rest != "" {
		if rest[0] == '-' || rest[0] == '+' {
			return 0, fmt.Errorf("duration %q must not have a sign", s)
		}
		if _, err := strconv.ParseFloat(rest, 64); err == nil {
			return 0, fmt.Errorf("duration %q lacks a unit (s, m, h, d or w)", s)
		}
		t, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q (use e.g. 30s, 5m, 4h, 14d, 2w)", s)
		}
		d += Duration(t)
	}
	return d, nil
}

// UnmarshalYAML implements yaml.Unmarshaler. A bad value is reported as a
// yaml.TypeError, so decoding goes on and every problem is reported.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a duration must be a string like 30s, 5m, 14d", n.Line)}}
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*d = v
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// BusinessDuration is a follow-up duration in business time: whole working
// days plus working time ("1d4h" is one working day and four working
// hours). Its meaning depends on the working calendar, so it is kept as
// parts rather than converted to a time.Duration.
type BusinessDuration struct {
	Days int
	Time time.Duration // hours and minutes of working time
}

// ParseBusinessDuration parses a follow-up duration with the grammar of
// routing.ParseBizDuration, the one the follow-up clock runs on: a number
// and a unit for each of d, h and m, in that order, any letter case ("4h",
// "4H", "2d", "1d4h", "30m"; "0" means at once).
func ParseBusinessDuration(s string) (BusinessDuration, error) {
	d, err := routing.ParseBizDuration(s)
	if err != nil {
		return BusinessDuration{}, fmt.Errorf("invalid business duration %q (use e.g. 4h, 2d, 1d4h, 30m)", s)
	}
	return BusinessDuration{
		Days: d.Days,
		Time: time.Duration(d.Hours)*time.Hour + time.Duration(d.Minutes)*time.Minute,
	}, nil
}

// String renders b in the syntax ParseBusinessDuration reads.
func (b BusinessDuration) String() string {
	var s string
	if b.Days > 0 {
		s += strconv.Itoa(b.Days) + "d"
	}
	if h := int(b.Time / time.Hour); h > 0 {
		s += strconv.Itoa(h) + "h"
	}
	if m := int(b.Time % time.Hour / time.Minute); m > 0 {
		s += strconv.Itoa(m) + "m"
	}
	if s == "" {
		return "0m"
	}
	return s
}
