//go:build !linux

package main

import "syscall"

// benchServerProcAttr is nil where there is no parent-death signal: the
// bench stops its server itself when it ends.
func benchServerProcAttr() *syscall.SysProcAttr { return nil }
