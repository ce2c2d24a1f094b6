package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
)

// post sends body as JSON and returns the status and decoded body.
func post(client *http.Client, url string, body any) (int, map[string]any, error) {
	r, err := send(client, http.MethodPost, url, "", body)
	return r.status, r.body, err
}

// answer is a finished exchange: status, decoded JSON body, headers.
type answer struct {
	status int
	body   map[string]any
	header http.Header
}

// send sends method to url with body as JSON (nil: none) and token as
// its bearer token (empty: none).
func send(client *http.Client, method, url, token string, body any) (answer, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return answer{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	a := answer{status: res.StatusCode, header: res.Header}
	_ = json.NewDecoder(res.Body).Decode(&a.body)
	return a, nil
}
