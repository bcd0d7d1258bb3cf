package main

import "testing"

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
