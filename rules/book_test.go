package rules

import (
	"strings"
	"testing"
)

// The built-in policy: 14 days for a standard authorization before 2026-01-01 and 7 from it;
// everything else as from the beginning.
func TestDefaultBookCarriesTheSevenDayCapFrom2026(t *testing.T) {
	b := DefaultBook()
	for _, tc := range []struct {
		on       string
		maxDays  int
		fromName string
	}{
		{"1990-01-01", 14, "beginning"},
		{"2025-12-30", 14, "beginning"},
		{"2025-12-31", 14, "beginning"},
		{"2026-01-01", 7, "2026-01-01"},
		{"2026-01-02", 7, "2026-01-01"},
		{"2040-06-01", 7, "2026-01-01"},
	} {
		blk := b.On(MustDate(tc.on))
		if blk.Authorization.StandardMaxDays != tc.maxDays || BlockName(blk.From) != tc.fromName {
			t.Errorf("on %s: standardMaxDays %d from %s, want %d from %s", tc.on, blk.Authorization.StandardMaxDays, BlockName(blk.From), tc.maxDays, tc.fromName)
		}
		if err := blk.Validate(); err != nil {
			t.Errorf("block on %s: %v", tc.on, err)
		}
	}
	if b.Latest().Authorization.StandardMaxDays != 7 {
		t.Errorf("latest block: %d days", b.Latest().Authorization.StandardMaxDays)
	}
	if DefaultPolicy().Authorization.StandardMaxDays != 14 {
		t.Errorf("DefaultPolicy is the first block, which replays of old journeys read over: 14 days")
	}
}

// A policy file as written before policies were dated is one block from the beginning, under the
// built-in dated changes.
func TestUndatedFileIsOneBlockFromTheBeginning(t *testing.T) {
	b, err := ParseBook([]byte(`{"noticeHour": 8, "reimbursement": {"dueDays": 45, "reminderDaysBefore": [10]}}`))
	if err != nil {
		t.Fatal(err)
	}
	before, after := b.On(MustDate("2025-06-01")), b.On(MustDate("2026-06-01"))
	if before.NoticeHour != 8 || after.NoticeHour != 8 || after.Reimbursement.DueDays != 45 {
		t.Errorf("the file's values hold on every date: %d %d %d", before.NoticeHour, after.NoticeHour, after.Reimbursement.DueDays)
	}
	if before.Authorization.StandardMaxDays != 14 || after.Authorization.StandardMaxDays != 7 {
		t.Errorf("the built-in change still applies: %d, %d", before.Authorization.StandardMaxDays, after.Authorization.StandardMaxDays)
	}
}

// An undated file that sets a value the built-in policy changes on a date is refused, with the
// way to write it as blocks.
func TestUndatedFileThatSetsADatedValueIsRefused(t *testing.T) {
	_, err := ParseBook([]byte(`{"authorization": {"standardMaxDays": 10}}`))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"authorization.standardMaxDays", "2026-01-01", `{"blocks": [`, `{"from": "2026-01-01", "authorization": {"standardMaxDays": N}}`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// Dated blocks: each sets only what changes on its date; a value holds until a later block
// changes it; a plan's block on the date of a built-in change comes after it.
func TestDatedBlocks(t *testing.T) {
	b, err := ParseBook([]byte(`{"blocks": [
		{"noticeHour": 8},
		{"from": "2026-01-01", "authorization": {"standardMaxDays": 5}},
		{"from": "2027-01-01", "holidays": {"add": ["2027-02-12"]}, "noticeHour": 10}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		on         string
		hour, days int
		from       string
		closed     bool
	}{
		{"2025-12-31", 8, 14, "beginning", false},
		{"2026-01-01", 8, 5, "2026-01-01", false},
		{"2026-12-31", 8, 5, "2026-01-01", false},
		{"2027-01-01", 10, 5, "2027-01-01", true},
	} {
		blk := b.On(MustDate(tc.on))
		closed := blk.IsHoliday(MustDate("2027-02-12"))
		if blk.NoticeHour != tc.hour || blk.Authorization.StandardMaxDays != tc.days || BlockName(blk.From) != tc.from || closed != tc.closed {
			t.Errorf("on %s: hour %d, days %d, from %s, 2027-02-12 closed %v; want %d, %d, %s, %v",
				tc.on, blk.NoticeHour, blk.Authorization.StandardMaxDays, BlockName(blk.From), closed, tc.hour, tc.days, tc.from, tc.closed)
		}
	}
	if len(b) != 3 {
		t.Errorf("%d blocks, want 3 (the plan's 2026-01-01 block merges with the built-in one)", len(b))
	}
}

func TestDatedBlocksRefused(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{`{"blocks": []}`, "blocks: empty"},
		{`{"blocks": [{"from": "2027-01-01"}, {"from": "2026-01-01"}]}`, "blocks[1].from: 2026-01-01 is before"},
		{`{"blocks": [{"from": "2027-01-01", "noticeHour": 25}]}`, "block from 2027-01-01: noticeHour"},
		{`{"blocks": [{"from": "2027-01-01", "timezone": "America/New_York"}]}`, "may not change the zone"},
		{`{"blocks": [{"from": "2027-13-01"}]}`, "blocks[0].from"},
		{`{"blocks": [{"form": "2027-01-01"}]}`, "unknown field"},
		{`{"blocks": [], "noticeHour": 8}`, "holds only \"blocks\""},
		{`{"authorization": {"deemedDenialTime": "5pm"}}`, "authorization.deemedDenialTime"},
	} {
		_, err := ParseBook([]byte(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one with %q", tc.file, err, tc.want)
		}
	}
}

// What replan sends reads back block for block over a journey's own policy.
func TestMarshalBookReadsBack(t *testing.T) {
	b := DefaultBook()
	data, err := MarshalBook(b)
	if err != nil {
		t.Fatal(err)
	}
	base := DefaultPolicy()
	base.NoticeHour = 7 // the journey's own value: every block of the book sets it, so it goes
	got, err := ReadBookOver(base, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(b) || got.On(MustDate("2026-01-02")).Authorization.StandardMaxDays != 7 ||
		got.On(MustDate("2025-01-02")).Authorization.StandardMaxDays != 14 || got.Latest().NoticeHour != 9 {
		t.Errorf("read back: %+v", got)
	}
	// A single policy, as replan sent before policies were dated: one block from the beginning.
	one, err := ReadBookOver(base, []byte(`{"noticeHour": 8}`))
	if err != nil || len(one) != 1 || one.On(MustDate("2026-06-01")).NoticeHour != 8 {
		t.Errorf("single policy: %+v, %v", one, err)
	}
}
