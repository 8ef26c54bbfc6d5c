package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// Peak RSS of a child comes from its rusage, but on Linux a child started
// by a process whose memory is large reports that process's size as its
// own peak: Go starts children with vfork, and exec carries the parent's
// high-water mark over (after filling a 1M store in-process the harness
// holds gigabytes). So a command whose peak RSS matters runs under a
// shim: this program again, fresh and small, which runs the command and
// writes its peak RSS to file descriptor 3.

const shimEnv = "KP_BENCH_RSS_SHIM"

// shim runs args[0] with args[1:], stdio inherited, writes the child's
// peak RSS in bytes to fd 3 and returns its exit status.
func shim(args []string) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "bench shim:", err)
		return 1
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		fmt.Fprintln(os.NewFile(3, "rss"), ru.Maxrss*1024)
	}
	return cmd.ProcessState.ExitCode()
}

// rssCommand returns a command running the program with args under the
// shim, and a function to call after Wait that returns the peak RSS.
func (e *env) rssCommand(args ...string) (*exec.Cmd, func() int64, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(self, append([]string{e.bin}, args...)...)
	cmd.Env = append(os.Environ(), shimEnv+"=1")
	cmd.ExtraFiles = []*os.File{w}
	read := func() int64 {
		w.Close()
		b, _ := io.ReadAll(r)
		r.Close()
		n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		return n
	}
	return cmd, read, nil
}
