package main

import "syscall"

// benchServerProcAttr makes a server the bench starts die with the bench
// (Linux: the parent-death signal).
func benchServerProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
