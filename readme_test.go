package actor_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEGoBlocks checks that every ```go block in README.md compiles, so that the README
// cannot drift from the API. It writes each block into a package of its own in a temporary
// module that uses this repository (a replace directive, and this module's go.sum, so it
// needs no network once `go test` has built the root), and runs one `go build ./...` over
// all of them. Compiler messages name README.md lines and columns, through //line
// directives, and each block's failure is reported in a subtest named after the line of its
// opening fence.
//
// A block whose first line of code starts with `package` is a complete program and must
// build as it is. Any other block is a fragment, and compiles in this context:
//
//   - It is cut into chunks, each starting at a line that is not indented (closing lines
//     such as `}` or `})` continue the chunk before them; comment lines join the chunk that
//     follows them). A chunk that starts with `type`, `func ` (a function or method, not a
//     func literal) or `import` is a declaration and goes at file scope, in README order.
//     Every other chunk is a statement, and goes, in README order, into a block inside the
//     body of a function. `var` and `const` count as statements, so that a variable a
//     fragment declares and never uses is still an error (a package-level one would not
//     be). Nothing in a fragment is ever marked as used for it.
//   - The file imports context, errors, fmt, time and the actor package, and uses each of
//     them once itself, so a fragment may use any of them without an import, and an unused
//     one is no error.
//   - The names in readmeTypes are declared at file scope, each unless the fragment
//     declares that name itself, and those in readmeVars are parameters of the function
//     (parameters are never "declared and not used"). A fragment may redeclare them with :=,
//     as the quick start does with ctx and sup, because its statements sit in a block of
//     their own.
//
// When a README fragment needs a name that is in neither list, say what it is in the README
// prose and add it here; when this test reports `undefined: x`, that is what is missing.
// It runs the go command, so `go test -short` skips it.
func TestREADMEGoBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds README.md's Go blocks with the go command")
	}
	goTool := goCommand(t)
	root, err := os.Getwd() // go test runs a package's tests in its directory: the root
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlocks(string(readme))
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```go blocks: has the fence changed?")
	}

	dir := t.TempDir()
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	gosum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	// This module's own requirements keep the module graph the one its go.sum covers.
	mod := regexp.MustCompile(`(?m)^module .*$`).ReplaceAllString(string(gomod), "module readmecheck")
	mod += fmt.Sprintf("\nrequire github.com/pactor-go/actor v0.0.0\n\nreplace github.com/pactor-go/actor => %q\n", root)
	writeFile(t, filepath.Join(dir, "go.mod"), mod)
	writeFile(t, filepath.Join(dir, "go.sum"), string(gosum))
	for _, b := range blocks {
		writeFile(t, filepath.Join(dir, b.dir(), "readme.go"), b.source())
	}

	cmd := exec.Command(goTool, "build", "./...")
	cmd.Dir = dir
	// Offline and hermetic: modules come from the cache or not at all, no workspace or
	// toolchain switch gets in, and go.mod may be completed from what the cache holds.
	cmd.Env = append(os.Environ(), "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local", "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err == nil {
		return
	}
	// go build prints "# readmecheck/<dir>" above each package's errors.
	byDir := make(map[string]string)
	var cur string
	for _, line := range strings.SplitAfter(string(out), "\n") {
		if pkg, ok := strings.CutPrefix(line, "# readmecheck/"); ok {
			cur = strings.TrimSpace(pkg)
			continue
		}
		if cur == "" {
			if strings.TrimSpace(line) != "" {
				t.Fatalf("go build ./... in %s failed before compiling the README's blocks (%v):\n%s", dir, err, out)
			}
			continue
		}
		byDir[cur] += "\t" + line
	}
	for _, b := range blocks {
		t.Run(fmt.Sprintf("README.md:%d", b.fence), func(t *testing.T) {
			if msg, ok := byDir[b.dir()]; ok {
				t.Errorf("the %s at README.md line %d does not compile:\n%s", b.kind(), b.fence, strings.TrimRight(msg, "\n\t"))
			}
		})
	}
	if len(byDir) == 0 {
		t.Fatalf("go build ./... in %s failed (%v), but named none of the README's blocks:\n%s", dir, err, out)
	}
}

// readmeTypes are declared at file scope for the fragments, each unless the fragment
// declares that name itself: the types the README's fragments use and leave to the prose.
var readmeTypes = []struct{ name, decl string }{
	{"Session", "type Session struct {\n\tactor.Base[Session]\n\tidle, cancel func() bool\n}"},
	{"Frontend", "type Frontend struct {\n\tactor.Base[Frontend]\n\tcache *actor.Ref[Cache]\n}"},
	{"Cache", "type Cache struct{ m map[string]string }"},
	{"Guardian", "type Guardian struct{}"},
	{"Worker", "type Worker struct{}"},
}

// readmeVars are parameters of the function that holds a fragment's statements.
var readmeVars = []struct{ name, typ string }{
	{"ctx", "context.Context"},
	{"sup", "*actor.Supervisor"},
	{"s", "*actor.Ref[Session]"},
	{"guardian", "*actor.Ref[Guardian]"},
	{"worker", "*actor.Ref[Worker]"},
}

// readmeImports are imported by every fragment's file, which uses each of them once.
const readmeImports = `import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/slogobserver"
)

var (
	_ = context.Background
	_ = errors.New
	_ = fmt.Sprint
	_ = slog.New
	_ = os.Stderr
	_ = time.Second
	_ = actor.ErrStopped
	_ = slogobserver.New
)
`

// goBlock is one ```go block of the README.
type goBlock struct {
	fence  int      // line of the opening fence, from 1
	indent string   // the fence's indentation, as in a list item
	lines  []string // the code, without the fences and without indent
}

// goBlocks returns the ```go blocks of a Markdown text, also those indented in a list.
func goBlocks(md string) []goBlock {
	var blocks []goBlock
	var cur *goBlock
	for i, line := range strings.Split(md, "\n") {
		trimmed := strings.TrimLeft(line, " \t")
		if cur == nil {
			if rest, ok := strings.CutPrefix(trimmed, "```go"); ok && (rest == "" || rest[0] == ' ') {
				cur = &goBlock{fence: i + 1, indent: line[:len(line)-len(trimmed)]}
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") {
			blocks = append(blocks, *cur)
			cur = nil
			continue
		}
		cur.lines = append(cur.lines, strings.TrimPrefix(line, cur.indent))
	}
	return blocks
}

// dir is the block's package directory in the temporary module.
func (b goBlock) dir() string { return fmt.Sprintf("l%04d", b.fence) }

// program reports whether the block is a complete program: its first line of code starts
// with "package".
func (b goBlock) program() bool {
	for _, l := range b.lines {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "//") {
			continue
		}
		return strings.HasPrefix(l, "package ")
	}
	return false
}

func (b goBlock) kind() string {
	if b.program() {
		return "program"
	}
	return "fragment (compiled as readme_test.go describes)"
}

// lineDirective makes the compiler report the code that follows as README.md's, from line
// n, column 1. The code is written with the README's indentation, so columns match too.
func lineDirective(n int) string { return fmt.Sprintf("//line README.md:%d:1\n", n) }

// text is lines as they are in the README, indentation included.
func (b goBlock) text(lines []string) string {
	var s strings.Builder
	for _, l := range lines {
		s.WriteString(b.indent + l + "\n")
	}
	return s.String()
}

// source is the Go file that holds the block.
func (b goBlock) source() string {
	var src strings.Builder
	if b.program() {
		src.WriteString(lineDirective(b.fence + 1))
		src.WriteString(b.text(b.lines))
		return src.String()
	}

	decls, stmts := b.chunks()
	var declText strings.Builder
	for _, c := range decls {
		declText.WriteString(strings.Join(c.lines, "\n") + "\n")
	}
	declared := declaredNames(declText.String())

	src.WriteString("package readme\n\n" + readmeImports + "\n")
	for _, d := range readmeTypes {
		if !declared[d.name] {
			src.WriteString(d.decl + "\n\n")
		}
	}
	for _, c := range decls {
		src.WriteString(lineDirective(c.line))
		src.WriteString(b.text(c.lines))
	}
	// The wrapper's lines count as the closing fence's, so that a declaration the
	// fragment left open is reported at the end of the block.
	end := lineDirective(b.fence + len(b.lines) + 1)
	src.WriteString(end + "func readmeFragment(")
	for i, v := range readmeVars {
		if i > 0 {
			src.WriteString(", ")
		}
		src.WriteString(v.name + " " + v.typ)
	}
	src.WriteString(") {\n{\n")
	for _, c := range stmts {
		src.WriteString(lineDirective(c.line))
		src.WriteString(b.text(c.lines))
	}
	src.WriteString(end + "}\n}\n")
	return src.String()
}

// chunk is a run of a fragment's lines that starts at an unindented line.
type chunk struct {
	line  int // README line of its first line
	lines []string
}

// chunks cuts a fragment into declarations and statements, as TestREADMEGoBlocks
// describes.
func (b goBlock) chunks() (decls, stmts []chunk) {
	var all []chunk
	onlyComments := false // the current chunk has only comments and blank lines so far
	for i, l := range b.lines {
		unindented := l != "" && l[0] != ' ' && l[0] != '\t'
		closing := strings.HasPrefix(l, "}") || strings.HasPrefix(l, ")") || strings.HasPrefix(l, "]")
		comment := strings.HasPrefix(l, "//")
		if len(all) == 0 || (unindented && !closing && !onlyComments) {
			all = append(all, chunk{line: b.fence + 1 + i})
			onlyComments = true
		}
		c := &all[len(all)-1]
		c.lines = append(c.lines, l)
		if strings.TrimSpace(l) != "" && !comment {
			onlyComments = false
		}
	}
	for _, c := range all {
		if isDecl(c) {
			decls = append(decls, c)
		} else {
			stmts = append(stmts, c)
		}
	}
	return decls, stmts
}

// declStart matches the first line of code of a declaration chunk: a type, an import, or a
// function or method (gofmt writes a func literal as "func(", without the space).
var declStart = regexp.MustCompile(`^(type\b|import\b|func \(|func [\pL_])`)

func isDecl(c chunk) bool {
	for _, l := range c.lines {
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "//") {
			continue
		}
		return declStart.MatchString(l)
	}
	return false
}

// declaredNames returns the names that Go declarations declare at file scope. If they do
// not parse, it returns what it could, and the compiler reports the rest.
func declaredNames(decls string) map[string]bool {
	names := make(map[string]bool)
	f, _ := parser.ParseFile(token.NewFileSet(), "", "package p\n"+decls, parser.SkipObjectResolution)
	if f == nil {
		return names
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				names[d.Name.Name] = true
			}
		case *ast.GenDecl:
			for _, s := range d.Specs {
				switch s := s.(type) {
				case *ast.TypeSpec:
					names[s.Name.Name] = true
				case *ast.ValueSpec:
					for _, n := range s.Names {
						names[n.Name] = true
					}
				}
			}
		}
	}
	return names
}

// goCommand returns the go command, or skips the test without one. go test puts its own
// GOROOT/bin first on the test's PATH, so this is the go that runs the test.
func goCommand(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build README.md's blocks with")
	}
	return p
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestGoBlocksSplit pins how goBlocks and chunks read a fragment, so that a change to the
// convention shows here before it shows as a puzzling compiler message.
func TestGoBlocksSplit(t *testing.T) {
	md := strings.Join([]string{
		"text",              // 1
		"```go",             // 2
		"// A counter.",     // 3
		"type C struct{}",   // 4
		"",                  // 5
		"x := f(func() {",   // 6
		"\tg()",             // 7
		"})",                // 8
		"func (c *C) m() {", // 9
		"}",                 // 10
		"var v = 1",         // 11
		"```",               // 12
		"- item",            // 13
		"  ```go",           // 14
		"  package main",    // 15
		"  ```",             // 16
	}, "\n")
	blocks := goBlocks(md)
	if len(blocks) != 2 || blocks[0].fence != 2 || blocks[1].fence != 14 {
		t.Fatalf("goBlocks found %+v; want blocks at lines 2 and 14", blocks)
	}
	if !blocks[1].program() || blocks[0].program() {
		t.Errorf("program() = %v, %v; want false, true", blocks[0].program(), blocks[1].program())
	}
	decls, stmts := blocks[0].chunks()
	got := func(cs []chunk) (s []string) {
		for _, c := range cs {
			s = append(s, fmt.Sprintf("%d:%s", c.line, strings.Join(c.lines, "|")))
		}
		return s
	}
	want := []string{"3:// A counter.|type C struct{}|", "9:func (c *C) m() {|}"}
	if g := got(decls); strings.Join(g, " ") != strings.Join(want, " ") {
		t.Errorf("declarations = %q; want %q", g, want)
	}
	want = []string{"6:x := f(func() {|\tg()|})", "11:var v = 1"}
	if g := got(stmts); strings.Join(g, " ") != strings.Join(want, " ") {
		t.Errorf("statements = %q; want %q", g, want)
	}
	if names := declaredNames("type C struct{}\nfunc F() {}\nfunc (C) M() {}\n"); !names["C"] || !names["F"] || names["M"] {
		t.Errorf("declaredNames = %v; want C and F, not the method M", names)
	}
}
