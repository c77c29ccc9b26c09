// Command forgehunt finds forged tokens, certificates and signatures made
// with an exposed signing key, in the logs an organisation already has.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	_ "time/tzdata" // --tz works on machines without a zoneinfo database
)

// goMemoryLimit is the Go heap's soft bound: with the case database's
// default 512MB, a hunt stays near 1 GiB in all.
const goMemoryLimit = 384 << 20

func main() {
	// Case files, their WAL and reports hold tokens: owner only.
	syscall.Umask(0o077)
	// FORGEHUNT_CPUPROFILE=FILE writes a CPU profile, for developers.
	if path := os.Getenv("FORGEHUNT_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	// Parsing makes garbage fast; past this, Go collects more often rather
	// than let its heap double (the case database has its own bound,
	// --memory-limit). GOMEMLIMIT, when set, wins.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(goMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if code != 0 {
		pprof.StopCPUProfile()
		os.Exit(code)
	}
}
