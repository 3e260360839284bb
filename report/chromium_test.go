package report

import (
	"context"
	"flag"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/careclock/careclock/rules"
)

var screenshot = flag.Bool("screenshot", false, "write the page's screenshot to docs/report.png")

// sample is a quarter of closes of every kind, some late, and journeys still open past due: the
// page's look, for the screenshot in docs/ (sample data, not a real plan's).
func sample() Report {
	d := rules.MustDate
	var closes []Close
	add := func(kind, month string, onTime, late int) {
		for i := range onTime + late {
			closes = append(closes, Close{Kind: kind, WorkflowID: "sample", On: d(month + "-15"), OnTime: i < onTime})
		}
	}
	add(KindReimbursementPaid, "2027-01", 46, 4)
	add(KindReimbursementPaid, "2027-02", 51, 1)
	add(KindReimbursementPaid, "2027-03", 40, 8)
	add(KindAuthDecided, "2027-01", 120, 3)
	add(KindAuthDecided, "2027-02", 131, 0)
	add(KindAuthDecided, "2027-03", 118, 6)
	add(KindNoticeOfAction, "2027-01", 12, 1)
	add(KindNoticeOfAction, "2027-02", 15, 0)
	add(KindNoticeOfAction, "2027-03", 9, 2)
	add(KindGrievanceResolved, "2027-02", 7, 0)
	add(KindGrievanceResolved, "2027-03", 5, 1)
	add(KindAppealResolved, "2027-03", 3, 0)
	add(KindCoCDecided, "2027-01", 9, 1)
	add(KindCoCDecided, "2027-03", 6, 0)
	journeys := []Journey{{Journey: "reimbursement", WorkflowID: "sample", Started: time.Date(2027, 3, 2, 17, 0, 0, 0, time.UTC),
		Deadline: time.Date(2027, 3, 20, 17, 0, 0, 0, time.UTC), Open: true, Overdue: true}}
	return Build(closes, TallyJourneys(journeys, "month", d("2027-01-01"), d("2027-03-31"), rules.DefaultPolicy().Zone(), rules.Date{}), "month", d("2027-01-01"), d("2027-03-31"), false, rules.Date{})
}

// The page renders in headless Chromium: a screenshot of it is a picture, not blank. test.sh
// installs Chromium where apt-get can; elsewhere set CARECLOCK_CHROMIUM or install it.
func TestReportPageRendersInChromium(t *testing.T) {
	bin := os.Getenv("CARECLOCK_CHROMIUM")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("chromium"); err != nil {
			t.Skip("no Chromium: install it (apt-get install chromium) or set CARECLOCK_CHROMIUM")
		}
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := sample().HTML(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "report.png")
	args := []string{"--headless", "--disable-gpu", "--hide-scrollbars", "--window-size=1100,1500",
		"--user-data-dir=" + filepath.Join(dir, "profile"), "--screenshot=" + out, "file://" + page}
	if os.Geteuid() == 0 {
		args = append(args, "--no-sandbox") // Chromium refuses to run as root with its sandbox
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if b, err := exec.CommandContext(ctx, bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, b)
	}
	pf, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	img, err := png.Decode(pf)
	if err != nil {
		t.Fatal(err)
	}
	// The bars are green (#2a7): a rendered page has many such pixels, a blank one none.
	green := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 2 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 2 {
			r, g, b, _ := img.At(x, y).RGBA()
			if r>>8 < 0x40 && g>>8 > 0x90 && b>>8 > 0x60 && b>>8 < 0x90 {
				green++
			}
		}
	}
	if green < 500 {
		t.Errorf("the screenshot has %d pixels of the bars' green: the charts did not render", green)
	}
	if *screenshot {
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("../docs/report.png", b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
