package main

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

func TestConfigJSONIsAnObjectForAStackWithoutConfig(t *testing.T) {
	for name, config := range map[string]map[string]string{
		"nil":   nil,
		"empty": {},
	} {
		got, err := configJSON(config)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if string(got) != "{}" {
			t.Errorf("%s: PULUMI_CONFIG = %s, want {}", name, got)
		}
	}
	got, err := configJSON(map[string]string{"alloy:baseUrl": "http://127.0.0.1:1"})
	if err != nil || string(got) != `{"alloy:baseUrl":"http://127.0.0.1:1"}` {
		t.Errorf("config = %s, %v", got, err)
	}
}

// TestExitOnInterruptWhenStartedWithSIGINTIgnored runs this test binary as a
// child with SIGINT ignored, as a background shell starts it, and checks that
// SIGINT still ends it promptly.
func TestExitOnInterruptWhenStartedWithSIGINTIgnored(t *testing.T) {
	if os.Getenv("ALLOY_TEST_CHILD") == "1" {
		exitOnInterrupt()
		os.Stdout.WriteString("ready\n")
		time.Sleep(30 * time.Second)
		os.Exit(3)
	}
	signal.Ignore(syscall.SIGINT) // inherited by the child, as from a background shell
	defer signal.Reset(syscall.SIGINT)
	child := exec.Command(os.Args[0], "-test.run=TestExitOnInterruptWhenStartedWithSIGINTIgnored")
	child.Env = append(os.Environ(), "ALLOY_TEST_CHILD=1")
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	buffer := make([]byte, 6)
	if _, err := out.Read(buffer); err != nil {
		t.Fatal(err)
	}
	if err := child.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- child.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the host did not exit cleanly on SIGINT: %v", err)
		}
	case <-time.After(10 * time.Second):
		_ = child.Process.Kill()
		t.Fatal("the host ignored SIGINT")
	}
}
