// Package docs holds careclock's documentation; its test holds the links between the pages.
package docs

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	link    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading = regexp.MustCompile("(?m)^#{1,6} (.+)$")
)

// anchor is GitHub's id for a heading: lower case, punctuation dropped, spaces as hyphens.
func anchor(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9'):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Every link in the README and in docs/ reaches a file of the repository, and a heading in it
// when it names one; none leaves the repository by a relative path (a clone has nothing beside
// it).
func TestLinksStayInTheRepository(t *testing.T) {
	pages, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, "../README.md")
	anchors := map[string]map[string]bool{}
	read := func(path string) (string, bool) {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", false
		}
		if anchors[path] == nil {
			anchors[path] = map[string]bool{}
			for _, m := range heading.FindAllStringSubmatch(string(b), -1) {
				anchors[path][anchor(m[1])] = true
			}
		}
		return string(b), true
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range pages {
		text, ok := read(page)
		if !ok {
			t.Fatalf("%s: unreadable", page)
		}
		if outside := path.Join("..", "shared"); strings.Contains(text, outside) {
			t.Errorf("%s refers to %s, which a clone does not have", page, outside)
		}
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, frag, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), file)
			}
			abs, err := filepath.Abs(path)
			if err != nil || !strings.HasPrefix(abs, root+string(filepath.Separator)) {
				t.Errorf("%s: %s leaves the repository", page, target)
				continue
			}
			if _, err := os.Stat(path); err != nil {
				t.Errorf("%s: %s: no such file", page, target)
				continue
			}
			if frag == "" || !strings.HasSuffix(path, ".md") {
				continue
			}
			if _, ok := read(path); !ok || !anchors[path][frag] {
				t.Errorf("%s: %s: no heading #%s in %s", page, target, frag, path)
			}
		}
	}
}
