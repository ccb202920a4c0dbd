package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/geogate/geogate/control"
)

// Backend answers the console's commands: a control.Client, or in tests the daemon's
// handlers in process. An error matching control.ErrNotRunning means no daemon answers.
type Backend interface {
	Call(cmd string, args, out any) error
}

// FreeFailures is how many failed unlocks are allowed without waiting; from the next one
// on, each attempt waits twice as long as the one before (1 s, 2 s, 4 s ... up to
// MaxBackoff), so guessing a signature is hopeless even without the nonce.
const FreeFailures = 5

// MaxBackoff caps the wait between unlock attempts after repeated failures.
const MaxBackoff = 15 * time.Minute

// DefaultIdleTimeout locks a console nobody typed into for this long: a technician's
// coffee break, not a workday.
const DefaultIdleTimeout = 5 * time.Minute

// MaxLine bounds a command line: the longest is "unlock TOKEN" (about 260 characters).
const MaxLine = 512

// Shell is the console's command interpreter. Set the fields, then Run it on a terminal, or
// call Exec line by line.
type Shell struct {
	// Backend reaches the daemon. Required.
	Backend Backend
	// Verifier checks unlock tokens. Required.
	Verifier *Verifier
	// Now is the wall clock for token expiry. Zero: time.Now is not used; Now is required.
	Now func() time.Time
	// IdleTimeout locks the shell after this long without a line. Zero: DefaultIdleTimeout.
	IdleTimeout time.Duration
	// After starts the idle timer. Zero: time.After.
	After func(time.Duration) <-chan time.Time
	// Log receives every unlock, failure and command; each also goes to the daemon
	// (CmdEvent) for its audit trail. Nil: discarded.
	Log *slog.Logger
	// LocalChecks prints checks that need no daemon (the config parses, key files exist); the
	// "check" command runs it, and it is offered when the daemon does not answer. Nil: none.
	LocalChecks func(w io.Writer)

	scope    Scope
	nonce    string
	issued   time.Time
	failures int
	nextTry  time.Time
}

// command is one console command.
type command struct {
	scope Scope // the scope it needs; ScopeNone: also when locked
	usage string
	run   func(s *Shell, w io.Writer, args []string) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"help":    {ScopeNone, "help: this list", (*Shell).help},
		"unlock":  {ScopeNone, "unlock TOKEN: unlock with a token signed for this unit and the nonce shown", (*Shell).unlock},
		"lock":    {ScopeNone, "lock: lock the console again", (*Shell).lockCmd},
		"exit":    {ScopeNone, "exit: lock and leave", nil},
		"status":  {ScopeRead, "status: health, storing, policy version, fixes and frames received since start", (*Shell).status},
		"gnss":    {ScopeRead, "gnss: receiver fix quality, satellites, fix age, rates, rejected sentences (no position)", (*Shell).gnss},
		"camera":  {ScopeRead, "camera: format, frame rate, frames lost before the policy by reason", (*Shell).camera},
		"policy":  {ScopeRead, "policy: the policy in force (id, version, signature, zones count)", (*Shell).policy},
		"storage": {ScopeRead, "storage: storing or why not, quota, disk full, eMMC wear", (*Shell).storage},
		"log":     {ScopeRead, "log: the daemon's latest log lines (desensitized)", (*Shell).logTail},
		"check":   {ScopeRead, "check: local checks that need no daemon (config, key files)", (*Shell).check},
		"reload":  {ScopeOperate, "reload: reload the policy bundle (as SIGHUP)", (*Shell).reload},
		"export": {ScopeOperate, "export AGE1...: start exporting the log, encrypted to a licensed recipient's age key, in the daemon;\r\n" +
			"    export: the export's progress, or its result (records, bytes, SHA-256) or error", (*Shell).export},
	}
}

func (s *Shell) logger() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// report sends e, with the session's scope, to the daemon's audit trail. A daemon that does
// not answer loses it; the shell's own log (Log) has every event too.
func (s *Shell) report(e Event) {
	e.Scope = s.scope.String()
	if err := s.Backend.Call(CmdEvent, e, nil); err != nil {
		s.logger().Debug("console event not in the audit trail", "err", err)
	}
}

// Scope returns the session's scope, ScopeNone while locked.
func (s *Shell) Scope() Scope { return s.scope }

// Nonce returns the nonce the next unlock token must answer.
func (s *Shell) Nonce() string {
	if s.nonce == "" {
		s.newNonce()
	}
	return s.nonce
}

func (s *Shell) newNonce() {
	s.nonce, s.issued = NewNonce(), s.Now()
}

// Lock locks the shell and spends the nonce; Banner then shows a new one.
func (s *Shell) Lock() {
	s.scope = ScopeNone
	s.newNonce()
}

// Banner writes what a locked console shows: the device, the nonce, how to unlock.
func (s *Shell) Banner(w io.Writer) {
	fmt.Fprintf(w, "geogate console on %s: LOCKED\r\nnonce %s (valid %v)\r\nunlock with: unlock TOKEN   (workshop: geogate console token -device %s -nonce %s ...)\r\n",
		s.Verifier.Device, s.Nonce(), MaxTokenTTL, s.Verifier.Device, s.Nonce())
}

// Prompt returns the prompt for the current scope.
func (s *Shell) Prompt() string { return "geogate(" + s.scope.String() + ")> " }

// Exec runs one command line and writes its output to w; quit is true after "exit". Lines
// end in CRLF (a raw terminal).
func (s *Shell) Exec(line string, w io.Writer) (quit bool) {
	if len(line) > MaxLine {
		s.logger().Warn("console line refused", "bytes", len(line))
		s.report(Event{Outcome: TooLong})
		fmt.Fprintf(w, "line too long (%d bytes, at most %d): ignored\r\n", len(line), MaxLine)
		return false
	}
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return false
	}
	name := fields[0]
	cmd, ok := commands[name]
	if !ok {
		s.logger().Info("console unknown command", "scope", s.scope.String())
		s.report(Event{Outcome: UnknownCmd}) // what was typed is not recorded
		fmt.Fprintf(w, "unknown command %q: type help\r\n", printable(name, 20))
		return false
	}
	if name != "unlock" { // the token is not logged; unlock reports its outcome
		s.logger().Info("console command", "cmd", name, "scope", s.scope.String())
	}
	if s.scope < cmd.scope {
		if s.scope == ScopeNone {
			s.report(Event{Cmd: name, Outcome: RefusedLocked})
			fmt.Fprintf(w, "%s: locked; unlock first (nonce %s)\r\n", name, s.Nonce())
		} else {
			s.report(Event{Cmd: name, Outcome: RefusedScope})
			fmt.Fprintf(w, "%s: %v (this session is %s)\r\n", name, ErrScope, s.scope)
			s.logger().Warn("console command refused: out of scope", "cmd", name, "scope", s.scope.String())
		}
		return false
	}
	if name != "unlock" && name != "lock" && name != "exit" {
		s.report(Event{Cmd: name, Outcome: Ran})
	}
	if name == "exit" {
		s.report(Event{Outcome: Exited})
		s.Lock()
		fmt.Fprint(w, "bye\r\n")
		return true
	}
	if err := cmd.run(s, w, fields[1:]); err != nil {
		if errors.Is(err, control.ErrNotRunning) {
			fmt.Fprintf(w, "%s: the daemon is not running (%v)\r\n", name, err)
			if s.LocalChecks != nil {
				fmt.Fprint(w, "local checks (no daemon needed):\r\n")
				s.LocalChecks(crlf{w})
			}
			return false
		}
		fmt.Fprintf(w, "%s: %s\r\n", name, printable(err.Error(), 200))
	}
	return false
}

// printable cuts s to n bytes and replaces what a terminal would act on.
func printable(s string, n int) string {
	if len(s) > n {
		s = s[:n] + "..."
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// crlf turns "\n" into "\r\n" for a raw terminal.
type crlf struct{ w io.Writer }

func (c crlf) Write(p []byte) (int, error) {
	_, err := c.w.Write([]byte(strings.ReplaceAll(string(p), "\n", "\r\n")))
	return len(p), err
}

// Run runs the shell on rw (a terminal in raw mode) with line editing until "exit", the
// terminal's end (a yanked cable) or ctx's end. It locks after IdleTimeout without input.
func (s *Shell) Run(ctx context.Context, rw io.ReadWriter) error {
	t := term.NewTerminal(rw, s.Prompt())
	s.Lock()
	s.Banner(t)
	type result struct {
		line string
		err  error
	}
	lines := make(chan result)
	next := make(chan struct{}, 1)
	go func() {
		for range next {
			l, err := t.ReadLine()
			lines <- result{l, err}
			if err != nil {
				return
			}
		}
	}()
	defer close(next)
	idle := s.IdleTimeout
	if idle == 0 {
		idle = DefaultIdleTimeout
	}
	after := s.After
	if after == nil {
		after = time.After
	}
	for {
		next <- struct{}{}
		var res result
		for got := false; !got; {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-after(idle):
				if s.scope != ScopeNone {
					s.logger().Info("console locked: idle", "after", idle)
					s.report(Event{Outcome: IdleLocked})
					s.Lock()
					fmt.Fprintf(t, "\r\nidle for %v: locked\r\n", idle)
					s.Banner(t)
					t.SetPrompt(s.Prompt())
				}
			case res = <-lines:
				got = true
			}
		}
		if res.err != nil {
			s.logger().Info("console terminal ended", "scope", s.scope.String())
			s.report(Event{Outcome: Ended})
			s.Lock()
			if errors.Is(res.err, io.EOF) {
				return nil
			}
			return fmt.Errorf("console: %w", res.err)
		}
		quit := s.Exec(res.line, t)
		t.SetPrompt(s.Prompt())
		if quit {
			return nil
		}
	}
}

func (s *Shell) help(w io.Writer, _ []string) error {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "commands (this session: %s):\r\n", s.scope)
	for _, n := range names {
		c := commands[n]
		need := ""
		switch c.scope {
		case ScopeRead:
			need = " [read-only]"
		case ScopeOperate:
			need = " [operate]"
		}
		fmt.Fprintf(w, "  %s%s\r\n", c.usage, need)
	}
	return nil
}

func (s *Shell) lockCmd(w io.Writer, _ []string) error {
	s.report(Event{Outcome: Locked})
	s.Lock()
	s.logger().Info("console locked")
	s.Banner(w)
	return nil
}

// unlock checks a token against the current nonce. Any attempt spends the nonce.
func (s *Shell) unlock(w io.Writer, args []string) error {
	now := s.Now()
	if now.Before(s.nextTry) {
		wait := s.nextTry.Sub(now).Round(time.Second)
		s.logger().Warn("console unlock refused: back-off", "failures", s.failures, "wait", wait)
		s.report(Event{Outcome: BackedOff, Failures: s.failures})
		return fmt.Errorf("%w %v", ErrBackoff, wait)
	}
	if len(args) != 1 {
		s.report(Event{Outcome: UnlockFailed, Reason: noToken})
		return errors.New("usage: unlock TOKEN")
	}
	nonce, issued := s.Nonce(), s.issued
	s.newNonce() // single use, whatever the outcome
	scope, err := s.Verifier.Verify(args[0], nonce, issued, now)
	if err != nil {
		s.failures++
		if s.failures >= FreeFailures {
			wait := min(time.Second<<min(s.failures-FreeFailures, 20), MaxBackoff)
			s.nextTry = now.Add(wait)
		}
		s.logger().Warn("console unlock failed", "failures", s.failures, "err", err)
		s.report(Event{Outcome: UnlockFailed, Failures: s.failures, Reason: TokenReason(err)})
		fmt.Fprintf(w, "unlock failed: %v\r\nnew nonce %s\r\n", err, s.nonce)
		return nil
	}
	s.scope, s.failures, s.nextTry = scope, 0, time.Time{}
	s.logger().Info("console unlocked", "scope", scope.String())
	s.report(Event{Outcome: Unlocked})
	fmt.Fprintf(w, "unlocked (%s); locks after %v idle\r\n", scope, s.idle())
	return nil
}

func (s *Shell) idle() time.Duration {
	if s.IdleTimeout == 0 {
		return DefaultIdleTimeout
	}
	return s.IdleTimeout
}

func (s *Shell) check(w io.Writer, _ []string) error {
	if s.LocalChecks == nil {
		fmt.Fprint(w, "no local checks configured\r\n")
		return nil
	}
	s.LocalChecks(crlf{w})
	return nil
}
