//go:build linux

// Package cputime measures CPU time for the agent's benchmarks: the
// process's, and one thread's, which on a shared machine stay steady while
// wall time depends on what else runs; and a handler that works for a
// given CPU time rather than wall time.
package cputime

import (
	"sync"
	"syscall"
	"time"
)

// Process is the CPU time this process has used, user and system.
func Process() time.Duration { return rusage(syscall.RUSAGE_SELF) }

// Thread is the CPU time the calling OS thread has used; call it from a
// goroutine locked to its thread (runtime.LockOSThread).
func Thread() time.Duration { return rusage(syscall.RUSAGE_THREAD) }

func rusage(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		panic("getrusage: " + err.Error()) // cannot fail with a valid who
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Worker computes for a fixed amount of CPU time per call, calibrated
// against the thread's CPU clock, so that a handler costs the same CPU
// whether or not the machine preempts it.
type Worker struct{ iters int }

// sink keeps the work from being optimised away.
var sink uint64

// NewWorker returns a Worker whose Work takes about d of CPU time. The
// CPU time of one step of work is measured once per process (about 20 ms
// of CPU time, on the first call), so that every Worker of a run does the
// same work for the same d; call it from a goroutine locked to its thread.
func NewWorker(d time.Duration) Worker {
	calibrate.Do(func() {
		const probe = 1 << 16
		start, n := Thread(), 0
		for Thread()-start < 20*time.Millisecond {
			spin(probe)
			n += probe
		}
		perStep = float64(Thread()-start) / float64(n)
	})
	return Worker{iters: max(int(float64(d)/perStep), 1)}
}

var (
	calibrate sync.Once
	perStep   float64 // CPU nanoseconds per step
)

// Work computes for the Worker's CPU time.
func (w Worker) Work() { spin(w.iters) }

func spin(n int) {
	x := sink
	for i := 0; i < n; i++ {
		x = x*6364136223846793005 + 1442695040888963407
	}
	sink = x
}
