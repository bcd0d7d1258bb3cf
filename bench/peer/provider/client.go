package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The headers the project's client sends (providers/alloy/client.py).
const (
	apiVersion = "2025-09"
	userAgent  = "alloy-users-bench-peer"
	// At most this many tries of one call, on 429 (any method) and on 502,
	// 503, 504 (not POST): the simplest retry, with a fixed pause.
	maxTries   = 3
	retryPause = 500 * time.Millisecond
)

// errNotFound is a 404 answer.
var errNotFound = fmt.Errorf("not found")

// apiUser is a user as the API returns it.
type apiUser struct {
	UserID   string  `json:"userId"`
	Username *string `json:"username"`
	FullName *string `json:"fullName"`
}

// client calls the Alloy users API with plain net/http.
type client struct {
	baseURL string
	apiKey  string
	http    *http.Client
}

func newClient(baseURL, apiKey string) *client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// Enough idle connections for -parallelism up to 64 to keep theirs alive.
	transport.MaxIdleConns = 128
	transport.MaxIdleConnsPerHost = 64
	return &client{
		baseURL: strings.TrimRight(baseURL, "/"),
		apiKey:  apiKey,
		http:    &http.Client{Timeout: 30 * time.Second, Transport: transport},
	}
}

func userPath(id string) string { return "/users/" + url.PathEscape(id) }

func (c *client) call(ctx context.Context, method, path string, body any, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return err
		}
	}
	for try := 1; ; try++ {
		var reader io.Reader
		if payload != nil {
			reader = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, reader)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
		req.Header.Set("x-api-version", apiVersion)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
		}
		retryable := resp.StatusCode == http.StatusTooManyRequests ||
			(method != http.MethodPost && (resp.StatusCode == 502 || resp.StatusCode == 503 || resp.StatusCode == 504))
		if retryable && try < maxTries {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(retryPause):
			}
			continue
		}
		if resp.StatusCode == http.StatusNotFound {
			return errNotFound
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			detail := string(data)
			if len(detail) > 200 {
				detail = detail[:200]
			}
			return fmt.Errorf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, detail)
		}
		if out != nil && len(bytes.TrimSpace(data)) > 0 {
			if err := json.Unmarshal(data, out); err != nil {
				return fmt.Errorf("%s %s: the answer is not the expected JSON: %w", method, path, err)
			}
		}
		return nil
	}
}

func (c *client) createUser(ctx context.Context, username string, fullName *string) (string, error) {
	body := map[string]any{"username": username}
	if fullName != nil {
		body["fullName"] = *fullName
	}
	var out apiUser
	if err := c.call(ctx, http.MethodPost, "/users", body, &out); err != nil {
		return "", err
	}
	if out.UserID == "" {
		return "", fmt.Errorf("POST /users: the answer has no userId")
	}
	return out.UserID, nil
}

func (c *client) getUser(ctx context.Context, id string) (*apiUser, error) {
	var out apiUser
	if err := c.call(ctx, http.MethodGet, userPath(id), nil, &out); err != nil {
		return nil, err
	}
	if out.UserID == "" {
		out.UserID = id
	}
	return &out, nil
}

func (c *client) updateUser(ctx context.Context, id string, body map[string]any) error {
	return c.call(ctx, http.MethodPut, userPath(id), body, nil)
}

func (c *client) deleteUser(ctx context.Context, id string) error {
	err := c.call(ctx, http.MethodDelete, userPath(id), nil, nil)
	if err == errNotFound {
		return nil // already gone
	}
	return err
}
